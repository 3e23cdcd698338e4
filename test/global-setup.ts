/** Starts the local Retell stand-in once for the whole run (Node side) and hands its URL to the Workers runtime. */
import type { TestProject } from "vitest/node";
import { startRetellStandIn } from "../stand-ins/retell.ts";
import { TEST_RETELL_API_KEY } from "./secrets.ts";

export default async function setup(project: TestProject) {
  const retell = await startRetellStandIn({ apiKey: TEST_RETELL_API_KEY });
  project.provide("retellBaseUrl", retell.url);
  return () => retell.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    retellBaseUrl: string;
  }
}
