/**
 * The TOML that wrangler.toml uses, parsed for tests (which run inside workerd, without a TOML package): comments,
 * [tables] and [[arrays of tables]] with dotted names, and `key = value` lines whose value is a string, a number, a
 * boolean, an array on one line or an inline table. Any other line throws, so a test never reads a file half-parsed.
 */

type Table = Record<string, unknown>;

/** A value in JSON form: inline tables' bare keys quoted (`{ limit = 100 }` → `{ "limit": 100 }`). */
function valueOf(text: string, line: string): unknown {
  const json = text.replace(/([{,]\s*)([A-Za-z_][A-Za-z0-9_-]*)\s*=/g, '$1"$2":');
  try {
    return JSON.parse(json);
  } catch {
    throw new Error(`parseToml: cannot read the value of ${JSON.stringify(line)}`);
  }
}

/** The table at a dotted path, made as needed; `append` adds a new table to the array there. */
function tableAt(root: Table, path: string[], append: boolean): Table {
  let t = root;
  path.forEach((key, i) => {
    const last = i === path.length - 1;
    if (last && append) {
      const list = (t[key] ??= []) as Table[];
      list.push((t = {}));
      return;
    }
    const next = t[key] ?? (t[key] = {});
    t = (Array.isArray(next) ? next[next.length - 1] : next) as Table;
  });
  return t;
}

/** Parses `text` (see above) into nested objects and arrays. */
export function parseToml(text: string): Table {
  const root: Table = {};
  let current = root;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^\s*#.*$/, "").trim();
    if (line === "") continue;
    const header = /^(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?$/.exec(line);
    if (header !== null) {
      current = tableAt(root, header[2].split("."), header[1] === "[[");
      continue;
    }
    const pair = /^([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.+)$/.exec(line);
    if (pair === null) throw new Error(`parseToml: cannot read ${JSON.stringify(line)}`);
    current[pair[1]] = valueOf(pair[2], line);
  }
  return root;
}
