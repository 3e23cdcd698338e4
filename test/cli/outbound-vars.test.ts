/** cli/lib/outbound-vars.ts: what doctor and deploy say about TWILIO_ACCOUNT_SID, the outbound limits and countries, and the tokens. */
import { describe, expect, it } from "vitest";
import { outboundFindings, tokenFindings } from "../../cli/lib/outbound-vars.ts";

const SID = "AC" + "0123456789abcdef".repeat(2);

describe("outboundFindings", () => {
  it("passes a valid account SID and the default limits", () => {
    expect(outboundFindings({ TWILIO_ACCOUNT_SID: SID }, "wrangler.toml [vars]", SID).map((f) => f.ok)).toEqual([true, true, true]);
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

describe("outboundFindings: countries", () => {
  it("names the allowed countries", () => {
    expect(outboundFindings({ OUTBOUND_ALLOWED_COUNTRIES: "au,nz" }, ".dev.vars")).toContainEqual({ ok: true, text: expect.stringContaining("outbound calls reach AU, NZ") });
  });

  it("fails on a country list the Worker would refuse, so no call is placed", () => {
    expect(outboundFindings({ OUTBOUND_ALLOWED_COUNTRIES: "AU NZ" }, ".dev.vars")).toContainEqual(expect.objectContaining({ ok: false, text: expect.stringContaining("OUTBOUND_ALLOWED_COUNTRIES must be ISO 3166-1 alpha-2") }));
  });
});

describe("tokenFindings", () => {
  it("fails on a CALLS_TOKEN shorter than 32 characters", () => {
    expect(tokenFindings({ CALLS_TOKEN: "a" }, ".dev.vars")).toEqual([expect.objectContaining({ ok: false, text: expect.stringContaining("CALLS_TOKEN is shorter than 32") })]);
  });

  it("fails on an ADMIN_TOKEN with a leading space", () => {
    expect(tokenFindings({ ADMIN_TOKEN: " admin" }, ".dev.vars")).toEqual([expect.objectContaining({ ok: false, text: expect.stringContaining("ADMIN_TOKEN must be visible ASCII") })]);
  });

  it("passes tokens that follow the rule and says nothing of unset ones", () => {
    expect(tokenFindings({ ADMIN_TOKEN: "p@ss w#rd!", CALLS_TOKEN: "c".repeat(32) }, ".dev.vars").map((f) => f.ok)).toEqual([true, true]);
    expect(tokenFindings({}, ".dev.vars")).toEqual([]);
  });
});
