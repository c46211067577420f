/**
 * YAML paths (`bots[0].token`) and their lines in the source, so every config error can point
 * at the exact line an operator has to edit.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { formatYamlPath } from './format-path.js';

export type YamlPath = readonly (string | number)[];

export { formatYamlPath } from './format-path.js';

/**
 * The 1-based line of `path` in `doc`. For a map entry that is the line of its key (so block
 * values point at `store:`, not at its first child); when the path does not exist (a missing
 * required key) it is the line of the nearest existing parent; line 1 for an empty document.
 */
export function lineOfPath(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number {
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  let node: unknown = doc.contents;
  let line = isNodeWithRange(node) ? lineAt(node.range[0]) : 1;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) break;
      const at = isNodeWithRange(pair.key) ? pair.key : pair.value;
      if (isNodeWithRange(at)) line = lineAt(at.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined) break;
      if (isNodeWithRange(item)) line = lineAt(item.range[0]);
      node = item;
    } else {
      break;
    }
  }
  return line;
}

function isNodeWithRange(v: unknown): v is Node & { range: [number, number, number] } {
  return typeof v === 'object' && v !== null && Array.isArray((v as { range?: unknown }).range);
}
