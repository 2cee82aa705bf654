"""Studio views: plain functions, one module per screen."""
