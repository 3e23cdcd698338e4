/** Test helpers for the webhook receiver stand-in (stand-ins/receiver.ts), from the Workers runtime. */
import { inject } from "vitest";
import type { ReceivedRequest, ReceiverBehaviour } from "../../stand-ins/receiver.ts";

let counter = 0;
/** A path of the test's own on the receiver, and an endpoint URL for it. */
export function receiverPath(label: string): { path: string; url: string } {
  // Random too: test files run side by side and share the receiver.
  const path = `/hooks/${label}-${Date.now().toString(36)}-${++counter}-${crypto.randomUUID().slice(0, 8)}`;
  return { path, url: inject("receiverUrl") + path };
}

export async function setReceiver(path: string, behaviour: ReceiverBehaviour): Promise<void> {
  const response = await fetch(`${inject("receiverUrl")}/__stand-in/behaviour`, { method: "POST", body: JSON.stringify({ path, behaviour }) });
  if (!response.ok) throw new Error(`receiver control: ${response.status}`);
}

export async function received(path: string): Promise<ReceivedRequest[]> {
  const response = await fetch(`${inject("receiverUrl")}/__stand-in/requests?path=${encodeURIComponent(path)}`);
  return (await response.json()) as ReceivedRequest[];
}
