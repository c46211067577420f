/** Printing a config path the way bots.yaml spells it, without loading the YAML parser. */

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['bots', 0, 'token']` → `bots[0].token`; odd keys are quoted: `agents["my.bot"]`. */
export function formatYamlPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && PLAIN_KEY.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}
