import { describe, expect, it } from "vitest";
import { findDestination, validateTransfers } from "../../src/transfers/destinations.ts";

describe("validateTransfers", () => {
  it("accepts names with E.164 numbers, normalised, and sip: URIs as written", () => {
    expect(validateTransfers({ sales: "+61 3 9000 0001", "after-hours_2": "sip:desk@pbx.example.com;transport=tcp", Billing: "sip:10.0.0.7:5060" })).toEqual({
      ok: true,
      transfers: { sales: "+61390000001", "after-hours_2": "sip:desk@pbx.example.com;transport=tcp", Billing: "sip:10.0.0.7:5060" },
    });
  });

  it.each([
    ["not an object", ["+61390000001"], "transfers is not an object of name → number or sip: URI"],
    ["empty", {}, "transfers is empty: leave it out when the agent may not transfer calls"],
    ["a name with a space", { "front desk": "+61390000001" }, 'transfers name "front desk" is not 1–32 of a–z 0–9 _ -'],
    ["a name of 33 characters", { ["a".repeat(33)]: "+61390000001" }, `transfers name "${"a".repeat(33)}" is not 1–32 of a–z 0–9 _ -`],
    ["an empty name", { "": "+61390000001" }, 'transfers name "" is not 1–32 of a–z 0–9 _ -'],
    ["two names that differ only in case", { sales: "+61390000001", SALES: "+61390000002" }, 'transfers names "sales" and "SALES" are the same name (names are matched case-insensitively)'],
    ["a local number", { sales: "03 9000 0001" }, "transfers.sales is not an E.164 number or a sip: URI"],
    ["a tel: URI", { sales: "tel:+61390000001" }, "transfers.sales is not an E.164 number or a sip: URI"],
    ["a sips: URI", { sales: "sips:desk@pbx.example.com" }, "transfers.sales is not an E.164 number or a sip: URI"],
    ["a SIP URI with headers", { sales: "sip:desk@pbx.example.com?X-Evil=1" }, "transfers.sales is not an E.164 number or a sip: URI"],
    ["a SIP URI with markup", { sales: "sip:desk@pbx.example.com</Sip>" }, "transfers.sales is not an E.164 number or a sip: URI"],
    ["a number", { sales: 61390000001 }, "transfers.sales is not an E.164 number or a sip: URI"],
  ])("refuses %s", (_name, value, detail) => {
    expect(validateTransfers(value)).toEqual({ ok: false, detail });
  });
});

describe("findDestination", () => {
  const transfers = { Sales: "+61390000001", support: "sip:desk@pbx.example.com" };

  it.each(["Sales", "sales", "SALES", " sales "])("finds %j case-insensitively, under its configured name", (name) => {
    expect(findDestination(transfers, name)).toEqual({ name: "Sales", target: "+61390000001", kind: "number" });
  });

  it("tells a SIP destination from a number", () => {
    expect(findDestination(transfers, "support")).toEqual({ name: "support", target: "sip:desk@pbx.example.com", kind: "sip" });
  });

  it.each(["+61390000001", "sip:desk@pbx.example.com", "billing", ""])("finds nothing for %j", (name) => {
    expect(findDestination(transfers, name)).toBeNull();
  });
});
