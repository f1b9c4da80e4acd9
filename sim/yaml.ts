/**
 * A minimal YAML writer for the two places Rancher answers with YAML (kubeconfig, exportYaml).
 * Strings are always double-quoted JSON strings, which YAML accepts verbatim.
 */
export function toYaml(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}[]\n`;
    return value
      .map((item) => {
        if (isNested(item)) return `${pad}-\n${toYaml(item, indent + 2)}`;
        return `${pad}- ${scalar(item)}\n`;
      })
      .join('');
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return `${pad}{}\n`;
    return entries
      .map(([key, item]) => {
        const name = /^[A-Za-z0-9_.-]+$/.test(key) ? key : JSON.stringify(key);
        if (isNested(item)) return `${pad}${name}:\n${toYaml(item, indent + 2)}`;
        return `${pad}${name}: ${scalar(item)}\n`;
      })
      .join('');
  }
  return `${pad}${scalar(value)}\n`;
}

function isNested(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

function scalar(value: unknown): string {
  if (Array.isArray(value)) return '[]';
  if (typeof value === 'object' && value !== null) return '{}';
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
