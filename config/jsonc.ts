/**
 * JSON with comments (`//` to the end of the line, `/* ... *\/`) and trailing commas, as the
 * annotated example config uses: comments are blanked (kept as spaces so JSON.parse positions
 * still point at the right line and column), strings are left untouched.
 */

/** The text with comments and trailing commas replaced by spaces. */
export function stripJsonc(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      const start = i++;
      while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  // A comma followed only by whitespace before } or ]: allowed in the example, not in JSON.
  return out.replace(/,(\s*[}\]])/g, ' $1');
}

/** Line and column (1-based) of a character offset, for error messages. */
export function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}
