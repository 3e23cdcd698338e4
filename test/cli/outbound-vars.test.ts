/** cli/lib/outbound-vars.ts: what doctor and deploy say about TWILIO_ACCOUNT_SID and the outbound limits. */
import { describe, expect, it } from "vitest";
import { outboundFindings } from "../../cli/lib/outbound-vars.ts";

const SID = "AC" + "0123456789abcdef".repeat(2);

describe("outboundFindings", () => {
  it("passes a valid account SID and the default limits", () => {
    expect(outboundFindings({ TWILIO_ACCOUNT_SID: SID }, "wrangler.toml [vars]", SID).map((f) => f.ok)).toEqual([true, true]);
  });

  it("skips an unset account SID: outbound calls are only off", () => {
    expect(outboundFindings({}, "wrangler.toml [vars]")[0]).toMatchObject({ ok: null });
  });

  it("fails an account SID other than the credentials' account", () => {
    const other = "AC" + "f".repeat(32);
    expect(outboundFindings({ TWILIO_ACCOUNT_SID: other }, "wrangler.toml [vars]", SID)[0]).toMatchObject({ ok: false, text: expect.stringContaining(`credentials here are for ${SID}`) });
  });

  it("fails a limit that is not a whole number", () => {
    expect(outboundFindings({ TWILIO_ACCOUNT_SID: SID, OUTBOUND_MAX_CONCURRENT: "-2" }, ".dev.vars")[1]).toMatchObject({ ok: false });
  });
});
