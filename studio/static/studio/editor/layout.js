// "Tidy up": lay the graph out left to right with dagre, as one undoable step.

import { NODE_HEIGHT, NODE_WIDTH } from "./graph.js";
import { isNote } from "./notes.js";

/** Move every step to its dagre position (ranks left → right), in one history batch.
 *  Sticky notes stay where their author put them. */
export function tidyUp(graph) {
  const dagre = window.dagre;
  const layout = new dagre.graphlib.Graph();
  layout.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 90, marginx: 40, marginy: 40 });
  layout.setDefaultEdgeLabel(() => ({}));
  const nodes = graph.getNodes().filter((node) => !isNote(node));
  for (const node of nodes) layout.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of graph.getEdges()) {
    const source = edge.getSourceCellId();
    const target = edge.getTargetCellId();
    if (source && target) layout.setEdge(source, target);
  }
  dagre.layout(layout);
  graph.startBatch("tidy-up");
  for (const node of nodes) {
    const placed = layout.node(node.id);
    if (placed) node.position(Math.round(placed.x - NODE_WIDTH / 2), Math.round(placed.y - NODE_HEIGHT / 2));
  }
  graph.stopBatch("tidy-up");
}
