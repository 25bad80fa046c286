/**
 * The Node entry point: the same client, on `ws`. Kept apart so the browser path never
 * imports a Node-only module.
 */
import WebSocket from 'ws';
import { DdpClient, type DdpClientOptions, type MethodMap, type MethodShape } from './index.js';

export * from './index.js';

/** Create a client on `ws` (unless `options.WebSocket` says otherwise), connect it, and return it once connected. */
export async function connectNode<M extends MethodShape<M> = MethodMap>(url: string, options: DdpClientOptions = {}): Promise<DdpClient<M>> {
  const client = new DdpClient<M>(url, { WebSocket, ...options });
  try {
    await client.connect();
  } catch (error) {
    // Do not leave timers or a half-open socket behind a failed connect.
    client.close();
    throw error;
  }
  return client;
}

/** Same as {@link connectNode}. */
export const connect = connectNode;

/** A client on `ws`, not yet connected. */
export function createNodeClient<M extends MethodShape<M> = MethodMap>(url: string, options: DdpClientOptions = {}): DdpClient<M> {
  return new DdpClient<M>(url, { WebSocket, ...options });
}
