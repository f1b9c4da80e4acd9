import { applyDecorators, Header, SetMetadata } from '@nestjs/common';

export const SECRET_FIELDS = 'paddock:secretFields';

/**
 * Marks a handler whose answer carries a secret in the named top-level fields. The answer is
 * sent with `Cache-Control: no-store`, and an idempotent replay never shows the secret again:
 * the stored answer is kept without those fields (see IdempotencyInterceptor).
 */
export const AnswerCarriesSecret = (...fields: string[]) =>
  applyDecorators(SetMetadata(SECRET_FIELDS, fields), Header('Cache-Control', 'no-store'));

/** The answer without its secret fields, as it may rest in the database. */
export function withoutSecrets(body: unknown, fields: string[]): unknown {
  if (fields.length === 0 || !body || typeof body !== 'object' || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const field of fields) delete copy[field];
  return copy;
}
