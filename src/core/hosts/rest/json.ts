// Reading Bitbucket's JSON answers defensively: a field of the wrong type is treated as absent.

/** Listings are followed for at most this many pages. */
export const MAX_PAGES = 50;

/** Workspace slugs and project keys as they may appear in a route pattern and a printed command. */
const SPACE_NAME = /^[A-Za-z0-9._~-]{1,128}$/;

export function stringField(value: unknown, key: string): string | undefined {
  const field = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof field === 'string' ? field : undefined;
}

export function arrayField(value: unknown, key: string | undefined): unknown[] {
  const field = key === undefined ? value : typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return Array.isArray(field) ? field : [];
}

/** Adds a workspace or project name once, if it is one we can put in a route. */
export function addSpaceName(names: string[], name: string | undefined): void {
  if (name !== undefined && SPACE_NAME.test(name) && !names.includes(name)) names.push(name);
}
