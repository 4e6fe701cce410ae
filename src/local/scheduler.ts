// Places pods on nodes: `nodeName` pins a pod; otherwise the node running the fewest pods wins (lowest index on ties).

export function chooseNode(nodeNames: readonly string[], podsPerNode: ReadonlyMap<string, number>): string {
  let best = nodeNames[0];
  for (const node of nodeNames) {
    if ((podsPerNode.get(node) ?? 0) < (podsPerNode.get(best) ?? 0)) best = node;
  }
  return best;
}
