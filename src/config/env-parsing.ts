/** `@Transform` for integer settings: an unset or empty variable stays unset (so its default applies). */
export const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : Number(value);
