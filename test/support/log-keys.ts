/**
 * Keys a JSON log line has more than once at its top level. JSON.parse keeps
 * only the last of them, so a line with a key twice (a child logger's
 * binding and the call's own field) must be read as text.
 */
export function duplicateTopLevelKeys(line: string): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      const text = line.slice(i + 1, j);
      if (depth === 1 && expectKey) {
        if (seen.has(text)) twice.add(text);
        seen.add(text);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return [...twice];
}
