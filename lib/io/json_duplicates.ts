/**
 * Duplicate keys in JSON text. `JSON.parse` keeps the last of two equal keys without a word;
 * formats whose keys are names (a safetensors header's tensor names) must refuse such text
 * instead. Keys are compared after unescaping, so `"a"` and `"\u0061"` are the same key.
 */

/** Where a duplicate key was found: the keys (and array indices) leading to it, then the key. */
export type JsonKeyPath = (string | number)[];

/**
 * The path of the first duplicate key in `json` (at any depth), or undefined when there is
 * none. `json` must already be valid JSON (check with `JSON.parse` first); nesting deeper
 * than `maxDepth` throws a RangeError.
 */
export function findDuplicateKey(json: string, maxDepth = 64): JsonKeyPath | undefined {
  let i = 0;
  const n = json.length;

  const skipSpace = (): void => {
    while (i < n) {
      const c = json.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };
  /** Reads the string starting at i (at its opening quote) and returns its value. */
  const readString = (): string => {
    const start = i++;
    let escaped = false;
    while (i < n) {
      const c = json.charCodeAt(i);
      if (c === 0x5c) {
        escaped = true;
        i += 2;
      } else if (c === 0x22) {
        break;
      } else {
        i++;
      }
    }
    i++; // the closing quote
    return escaped ? (JSON.parse(json.slice(start, i)) as string) : json.slice(start + 1, i - 1);
  };
  /** Skips one value starting at i; returns the path of a duplicate inside it, if any. */
  const value = (at: JsonKeyPath): JsonKeyPath | undefined => {
    if (at.length > maxDepth) throw new RangeError(`JSON nests deeper than ${maxDepth} levels`);
    skipSpace();
    const c = json[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      skipSpace();
      if (json[i] === '}') {
        i++;
        return undefined;
      }
      for (;;) {
        skipSpace();
        const key = readString();
        if (keys.has(key)) return [...at, key];
        keys.add(key);
        skipSpace();
        i++; // ':'
        const inner = value([...at, key]);
        if (inner) return inner;
        skipSpace();
        if (json[i++] === '}') return undefined; // else ','
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (json[i] === ']') {
        i++;
        return undefined;
      }
      for (let k = 0; ; k++) {
        const inner = value([...at, k]);
        if (inner) return inner;
        skipSpace();
        if (json[i++] === ']') return undefined; // else ','
      }
    }
    if (c === '"') {
      readString();
      return undefined;
    }
    // a number, true, false or null
    while (i < n && !',]} \t\n\r'.includes(json[i])) i++;
    return undefined;
  };
  return value([]);
}
