import { request } from 'undici';
import { mintAdminToken } from '../../src/keys/mint-key.ts';
import type { AdminRole, AdminTokenStore } from '../../src/store/admin-token-store.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';

export interface AdminResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  text: string;
}

/** Creates an admin token directly in a store; returns its id and plaintext. */
export async function createAdminToken(store: AdminTokenStore, role: AdminRole, name = `${role} token`): Promise<{ id: string; token: string }> {
  const minted = mintAdminToken();
  await store.createAdminToken({ id: minted.id, name, role, digest: minted.digest, displayPrefix: minted.displayPrefix }, Date.now(), CLI_ACTOR);
  return { id: minted.id, token: minted.key };
}

/** One call to the admin API over real HTTP; JSON bodies are parsed when the response is JSON. */
export async function adminCall<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<AdminResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await request(`${baseUrl}${path}`, { method: method as 'GET', headers, body });
  const text = await response.body.text();
  const type = String(response.headers['content-type'] ?? '');
  return { status: response.statusCode, headers: response.headers, text, body: (/\bjson\b/.test(type) && text !== '' ? JSON.parse(text) : text) as T };
}
