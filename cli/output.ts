import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A table column: its header and how to read it from a row. */
export type Column<T> = [header: string, read: (row: T) => unknown];

const cell = (value: unknown): string =>
  value === null || value === undefined
    ? '-'
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The command's result on stdout: JSON and YAML as the API answered, a table for people. */
export function render<T>(format: OutputFormat, value: T | T[], columns: Column<T>[]): string {
  if (format === 'json') return JSON.stringify(value, null, 2);
  if (format === 'yaml') return stringify(value).trimEnd();
  const rows = Array.isArray(value) ? value : [value];
  return table([
    columns.map(([header]) => header),
    ...rows.map((row) => columns.map(([, read]) => cell(read(row)))),
  ]);
}
