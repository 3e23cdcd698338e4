/**
 * A headless Chromium for the operator page's browser test and `npm run screenshot`, driven by playwright-core,
 * which never downloads a browser. The browser comes from the project's own dependencies (@sparticuz/chromium
 * carries a Chromium build inside the npm package and unpacks it to the temp folder on first use), else from the
 * machine (Debian's `chromium` package, or BRIDGE_CHROMIUM naming one). Nothing is fetched at run time.
 * (shared/reference/vendor-facts-hooks-events-page-queues.md §5)
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

/** Browsers found on the machine, in the order tried after the package's. */
const SYSTEM_CHROMIUMS = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
/**
 * A quiet browser for a closed network: no sandbox (containers have no user namespaces), no GPU, and none of the
 * background traffic (updates, sync, QUIC probes) a page test never needs.
 */
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export const NO_BROWSER =
  "No usable Chromium: run `npm install` on Node 22 or later (it brings @sparticuz/chromium), or install Debian's (`apt-get install -y --no-install-recommends chromium`), or set BRIDGE_CHROMIUM to a Chromium executable.";

async function packagedChromium(): Promise<string | null> {
  try {
    const { default: Chromium } = await import("@sparticuz/chromium");
    return await Chromium.executablePath();
  } catch {
    return null;
  }
}

/** Launches the first Chromium that starts; throws NO_BROWSER, with each failure, when none does. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  const candidates = [process.env.BRIDGE_CHROMIUM, await packagedChromium(), ...SYSTEM_CHROMIUMS.filter((p) => existsSync(p))].filter((p): p is string => Boolean(p));
  const failures: string[] = [];
  for (const executablePath of candidates) {
    try {
      return await chromium.launch({ executablePath, args: ARGS, headless: true });
    } catch (error) {
      failures.push(`${executablePath}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error([NO_BROWSER, ...failures].join("\n"));
}

/** Deterministic figures and times in screenshots and assertions. */
export const CONTEXT_OPTIONS = { timezoneId: "UTC", locale: "en-US" } as const;
export const DESKTOP = { width: 1280, height: 900 } as const;
export const PHONE = { width: 375, height: 800 } as const;
