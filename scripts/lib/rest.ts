import { CommandError } from './cli-kit.js';

/** A server's answer: the status and the JSON body (`{ message }` when it was not JSON). */
export interface RestAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** One request to the server; an unreachable server is a CommandError that says so. */
export async function callServer(url: string, init: RequestInit): Promise<RestAnswer> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (error) {
    throw new CommandError(`Cannot reach ${new URL(url).origin}: ${(error as Error).message}. Is the server running?`);
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { message: text };
  }
  return { status: res.status, body, headers: res.headers };
}

/** `CODE: message` of a refusal, as the commands print it. */
export function refusalText(answer: RestAnswer): string {
  return `${String(answer.body.code ?? answer.status)}: ${String(answer.body.message ?? '')}`;
}

/** The server to talk to: `--url`, else PUBLIC_URL, else the default local one. */
export function serverBase(url: string | undefined): string {
  return (url ?? process.env.PUBLIC_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
}
