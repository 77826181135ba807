import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  currentPeriod,
  forecastWindow,
  leastSquaresSlope,
  reachesAt,
  type UsageSample,
  type WindowForecast,
} from "../../src/quota/forecast.js";

const M = 60_000;
const H = 60 * M;
const T0 = Date.UTC(2026, 10, 30, 12, 0);
const OPTS = { lookbackMs: 60 * M, minSpanMs: 5 * M };
const R = T0 + 4 * H; // the current period's reset unless a row says otherwise

// [minutes relative to T0, utilization, reset]
type Row = [number, number, (number | null)?];
const samples = (rows: Row[]): UsageSample[] =>
  rows.map(([m, u, r]) => ({ at: T0 + m * M, utilization: u, resetsAt: r === undefined ? R : r }));

function near(got: number | null, want: number | null, eps: number, what: string): void {
  if (want === null || got === null) return assert.equal(got, want, what);
  assert.ok(Math.abs(got - want) <= eps, `${what}: got ${got}, want ${want}`);
}

describe("forecastWindow", () => {
  const cases: Array<[string, Row[], Partial<WindowForecast> | null]> = [
    ["no samples → nothing known", [], null],
    [
      "one sample: figures, no burn",
      [[0, 0.4]],
      { utilization: 0.4, burnPerHour: null, exhaustAt: null, resetsAt: R, samples: 1 },
    ],
    [
      "steady 0.30/h → exhausts in 170 min",
      [
        [-10, 0.1],
        [-5, 0.125],
        [0, 0.15],
      ],
      { utilization: 0.15, burnPerHour: 0.3, exhaustAt: T0 + 170 * M, resetsAt: R, samples: 3 },
    ],
    [
      "would reset before exhausting → no exhaustion",
      [
        [-10, 0.1],
        [0, 0.15, T0 + 2 * H],
        [-5, 0.125, T0 + 2 * H],
      ],
      { burnPerHour: 0.3, exhaustAt: null, resetsAt: T0 + 2 * H },
    ],
    [
      "span under minSpan → no burn",
      [
        [-2, 0.1],
        [0, 0.15],
      ],
      { utilization: 0.15, burnPerHour: null, exhaustAt: null, samples: 2 },
    ],
    [
      "flat → burn 0, never exhausts",
      [
        [-30, 0.2],
        [-15, 0.2],
        [0, 0.2],
      ],
      { burnPerHour: 0, exhaustAt: null },
    ],
    [
      "samples before a reset (utilization drop) ignored",
      [
        [-50, 0.9],
        [-40, 0.95],
        [-20, 0.02],
        [-10, 0.06],
        [0, 0.1],
      ],
      { utilization: 0.1, burnPerHour: 0.24, exhaustAt: T0 + 225 * M, samples: 3 },
    ],
    [
      "samples with another reset time ignored (no drop)",
      [
        [-30, 0.02, T0 + H],
        [-20, 0.1, T0 + H],
        [-10, 0.14],
        [0, 0.16],
      ],
      { burnPerHour: 0.12, exhaustAt: null, resetsAt: R, samples: 2 },
    ],
    [
      "an older sample whose reset had passed starts a new period",
      [
        [-30, 0.02, T0 - 20 * M],
        [-10, 0.14, null],
        [0, 0.16, null],
      ],
      { burnPerHour: 0.12, resetsAt: null, samples: 2 },
    ],
    [
      "endpoint rounding (42.3 % then 42 %) is the same period",
      [
        [-20, 0.4],
        [-10, 0.423],
        [0, 0.42],
      ],
      { samples: 3, burnPerHour: 0.06 },
    ],
    [
      "samples beyond the lookback ignored",
      [
        [-90, 0.0],
        [-30, 0.3],
        [0, 0.4],
      ],
      { burnPerHour: 0.2, exhaustAt: T0 + 180 * M, samples: 2 },
    ],
    [
      "least squares, not first-to-last (0.12/h)",
      [
        [-30, 0.1],
        [-20, 0.13],
        [-10, 0.12],
        [0, 0.16],
      ],
      { burnPerHour: 0.102, samples: 4 },
    ],
    [
      "a drop of exactly the tolerance is noise",
      [
        [-20, 0.14],
        [-10, 0.12],
        [0, 0.14],
      ],
      { samples: 3 },
    ],
    [
      "already at 100 % → exhausted at the newest reading",
      [
        [-20, 0.9],
        [-5, 1.0],
      ],
      { utilization: 1, exhaustAt: T0 - 5 * M },
    ],
    [
      "reset passed → the window rolled over",
      [
        [-30, 0.5, T0 - M],
        [-10, 0.6, T0 - M],
      ],
      null,
    ],
    [
      "samples after now ignored",
      [
        [-10, 0.1],
        [0, 0.15],
        [5, 0.9],
      ],
      { utilization: 0.15, burnPerHour: 0.3 },
    ],
    [
      "falling within tolerance → burn < 0, never exhausts",
      [
        [-20, 0.42],
        [0, 0.41],
      ],
      { exhaustAt: null },
    ],
  ];
  for (const [name, rows, want] of cases) {
    it(name, () => {
      const got = forecastWindow(samples(rows), T0, OPTS);
      if (want === null) return assert.equal(got, null);
      assert.ok(got, "a forecast");
      const f: WindowForecast = got;
      for (const [k, v] of Object.entries(want)) {
        const g: number | null = f[k as keyof WindowForecast];
        if (k === "burnPerHour") near(g, v, 1e-9, k);
        else if (k === "exhaustAt") near(g, v, 1, k);
        else assert.equal(g, v, k);
      }
    });
  }
});

describe("forecast helpers", () => {
  it("currentPeriod keeps the newest period in time order", () => {
    const got = currentPeriod(
      samples([
        [0, 0.1],
        [-20, 0.8],
        [-10, 0.05],
      ]),
      T0,
    );
    assert.deepEqual(
      got.map((s) => s.at),
      [T0 - 10 * M, T0],
    );
  });
  it("leastSquaresSlope needs two distinct times", () => {
    assert.equal(leastSquaresSlope(samples([[0, 0.1]])), null);
    assert.equal(
      leastSquaresSlope(
        samples([
          [0, 0.1],
          [0, 0.2],
        ]),
      ),
      null,
    );
    near(
      leastSquaresSlope(
        samples([
          [0, 0.1],
          [60, 0.3],
        ]),
      ),
      0.2,
      1e-12,
      "slope",
    );
  });
  const reach: Array<[number, number | null, number, number | null]> = [
    [0.5, 0.1, 0.8, T0 + 3 * H],
    [0.8, 0.1, 0.8, T0],
    [0.5, 0, 0.8, null],
    [0.5, null, 0.8, null],
    [0.5, -0.1, 0.8, null],
  ];
  for (const [u, burn, th, want] of reach) {
    it(`reachesAt(${u}, burn ${burn}, threshold ${th}) → ${want === null ? "never" : `+${(want - T0) / M}m`}`, () =>
      near(reachesAt(T0, u, burn, th), want, 1, "at"));
  }
});
