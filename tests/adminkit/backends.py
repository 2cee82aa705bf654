"""An object-permission backend as django-guardian is one: it answers ``has_perm`` for
one object (here: change and delete of gadgets whose name starts with "shared")."""


class SharedGadgetBackend:
    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, perm, obj=None):
        if obj is None:
            return False
        action = perm.split(".", 1)[1].split("_", 1)[0]
        return action in ("change", "delete") and obj.name.startswith("shared")
