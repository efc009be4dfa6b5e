/** The one CSV rule the kernel needs: split a line on commas outside double quotes. */

/**
 * Splits one CSV line into `out` (cleared first), removing the quotes of quoted
 * fields ("" inside quotes is a literal quote).
 */
export function splitCsvLine(line: string, out: string[]): void {
  out.length = 0;
  const n = line.length;
  let i = 0;
  for (;;) {
    // Leading spaces before a quoted field are tolerated.
    let j = i;
    while (j < n && line.charCodeAt(j) === 32) j++;
    if (j < n && line.charCodeAt(j) === 34) {
      let value = "";
      let k = j + 1;
      for (;;) {
        const q = line.indexOf('"', k);
        if (q < 0) {
          value += line.slice(k);
          k = n;
          break;
        }
        value += line.slice(k, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          k = q + 2;
        } else {
          k = q + 1;
          break;
        }
      }
      const comma = line.indexOf(",", k);
      // Anything between the closing quote and the comma is kept, so a stray character is reported.
      value += line.slice(k, comma < 0 ? n : comma).trim();
      out.push(value);
      if (comma < 0) return;
      i = comma + 1;
    } else {
      const comma = line.indexOf(",", i);
      if (comma < 0) {
        out.push(line.slice(i));
        return;
      }
      out.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}
