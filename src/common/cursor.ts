import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { badRequest } from './problem';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** `?limit=&cursor=` on every list. The cursor is opaque to clients. */
export class PageQuery {
  /** Items per page (1–500, default 50). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  /** The `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

/** Keyset position: the sort key and id of the last item returned. */
export interface CursorPosition {
  key: string;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.key, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): CursorPosition | null {
  if (cursor === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    // A cursor is only decoded, never trusted: its values go into queries, so they must be text.
    const storable = (v: unknown) => typeof v === 'string' && v.length <= 256 && !v.includes('\u0000');
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every(storable)) {
      return { key: parsed[0] as string, id: parsed[1] as string };
    }
  } catch {
    // fall through to the 400 below
  }
  throw badRequest('cursor is not valid', [
    { field: 'cursor', message: 'cursor is not a cursor this API issued' },
  ]);
}

/** Builds `{items, nextCursor}` from a query that fetched `limit + 1` rows. */
export function toPage<T>(rows: T[], limit: number, position: (row: T) => CursorPosition) {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  return { items, nextCursor: hasMore ? encodeCursor(position(items[items.length - 1])) : null };
}
