// The one definition of how an OAuth access token sits in the secret store ("oauth-access" slot):
// JSON {token, expiresAt (epoch ms)}. The daemon writes it; the daemon and `status` read it. A
// value that does not parse is a missing token (the next get refreshes), never an error.

export interface AccessToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export function formatStoredAccessToken(access: AccessToken): string {
  return JSON.stringify({ token: access.token, expiresAt: access.expiresAt });
}

export function parseStoredAccessToken(value: string | undefined): AccessToken | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<AccessToken> | null;
    if (typeof parsed?.token === 'string' && parsed.token !== '' && typeof parsed.expiresAt === 'number' && Number.isFinite(parsed.expiresAt)) {
      return { token: parsed.token, expiresAt: parsed.expiresAt };
    }
  } catch {
    // reported as missing below
  }
  return undefined;
}
