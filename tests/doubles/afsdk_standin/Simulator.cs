// The NAIA Simulator's generator (src/naia/sources/simulator/generate.py and catalogue.py),
// ported operation for operation so that every double comes out bit for bit the same:
// tests/integration/test_afsdk_clr.py compares the two over millions of events.
using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace Naia.StandIn
{
    public static class Ticks
    {
        public const long Epoch = 621355968000000000L; // DateTime(1970, 1, 1).Ticks
        public const long PerUs = 10;
    }

    public sealed class PointOptions
    {
        public double IntervalSeconds = 60.0;
        public bool Irregular;
        public double SameTimestampRate;
        public double SystemStateRate;
        public double GapRate;

        public static PointOptions Realistic()
        {
            return new PointOptions
            {
                IntervalSeconds = 60.0, Irregular = true, SameTimestampRate = 0.01,
                SystemStateRate = 0.005, GapRate = 0.1,
            };
        }
    }

    public sealed class PointDef
    {
        public string Name;
        public bool IsDigital;
        public string Wave; // sine, noisy, ramp, digital
        public double Low;
        public double High = 100.0;
        public double PeriodS = 43200.0;
        public double Phase;
        public string[] States = new string[0];

        public uint Seed
        {
            get { return Crc32.Of(Encoding.UTF8.GetBytes(Name)); }
        }
    }

    /// <summary>One event; StateIndex -1 is a number in Value, else an index into the point's
    /// states followed by the system states.</summary>
    public struct SimEvent
    {
        public long TsUs;
        public double Value;
        public int StateIndex;
        public bool IsSystem;
    }

    public static class Catalogue
    {
        public static readonly int[] SystemCodes = { 246, 248, 253, 254, 255 };
        public static readonly string[] SystemNames = { "I/O Timeout", "No Data", "Pt Created", "Shutdown", "Bad Input" };

        private static readonly Regex Numbered = new Regex(@"^SIM\.([0-9]{1,7})$");
        private static readonly Dictionary<string, PointDef> Classic = BuildClassic();

        public static PointDef Find(string name)
        {
            string key = name.Trim().ToUpperInvariant();
            PointDef found;
            if (Classic.TryGetValue(key, out found))
            {
                return found;
            }
            Match match = Numbered.Match(key);
            if (!match.Success)
            {
                return null;
            }
            int n = int.Parse(match.Groups[1].Value);
            return new PointDef
            {
                Name = key, Wave = "noisy", Low = 0, High = 100,
                PeriodS = 3600.0 * (1 + n % 24), Phase = (double)(n % 97) / 97,
            };
        }

        private static Dictionary<string, PointDef> BuildClassic()
        {
            var phases = new string[8];
            for (int i = 0; i < 8; i++)
            {
                phases[i] = "Phase" + (i + 1);
            }
            var points = new[]
            {
                Analog("SINUSOID", "sine", 0, 100, 43200, 0.0),
                Analog("SINUSOIDU", "sine", 0, 100, 43200, 1.0),
                Analog("CDT158", "noisy", 50, 250, 21600, 0.3),
                Digital("CDM158", "Manual", "Auto", "Cascade", "Program", "Prog-Auto"),
                Analog("BA:TEMP.1", "ramp", 20, 90, 3600, 0.0),
                Analog("BA:LEVEL.1", "ramp", 0, 100, 3600, 0.25),
                Analog("BA:CONC.1", "ramp", 0, 15, 3600, 0.5),
                Digital("BA:ACTIVE.1", "Inactive", "Active"),
                Digital("BA:PHASE.1", phases),
            };
            var table = new Dictionary<string, PointDef>();
            foreach (var p in points)
            {
                table[p.Name] = p;
            }
            return table;
        }

        private static PointDef Analog(string name, string wave, double low, double high, double period, double phase)
        {
            return new PointDef { Name = name, Wave = wave, Low = low, High = high, PeriodS = period, Phase = phase };
        }

        private static PointDef Digital(string name, params string[] states)
        {
            return new PointDef { Name = name, Wave = "digital", IsDigital = true, States = states };
        }
    }

    public static class Generator
    {
        private const long UsPerS = 1000000;
        private const int SaltGap = 0, SaltOffset = 1, SaltWhole = 2, SaltDup = 3, SaltSys = 4, SaltNoise = 5, SaltCode = 6;

        /// <summary>Events of the point with startUs &lt;= ts &lt; endUs, in time order.</summary>
        public static List<SimEvent> Generate(PointDef point, PointOptions options, long startUs, long endUs)
        {
            long interval = (long)(options.IntervalSeconds * UsPerS);
            uint seed = point.Seed;
            var events = new List<SimEvent>();
            long first = options.Irregular ? FloorDiv(startUs, interval) : CeilDiv(startUs, interval);
            long stop = CeilDiv(endUs, interval);
            for (long slot = first; slot < stop; slot++)
            {
                long ts = slot * interval;
                if (options.Irregular)
                {
                    ts += Offset(seed, slot, interval);
                    if (ts < startUs || ts >= endUs)
                    {
                        continue;
                    }
                    if (options.GapRate > 0 && Uniform(seed, slot, SaltGap) < options.GapRate)
                    {
                        continue;
                    }
                }
                events.Add(Event(point, options, seed, slot, ts, false));
                if (options.SameTimestampRate > 0 && Uniform(seed, slot, SaltDup) < options.SameTimestampRate)
                {
                    events.Add(Event(point, options, seed, slot, ts, true));
                }
            }
            return events;
        }

        private static SimEvent Event(PointDef point, PointOptions options, uint seed, long slot, long ts, bool dup)
        {
            long shift = dup ? 1000003L : 0L;
            long key = slot + shift;
            var e = new SimEvent { TsUs = ts, StateIndex = -1 };
            if (point.IsDigital)
            {
                long run = FloorDiv(slot, 15) + shift;
                e.StateIndex = (int)(Mix(seed, run, SaltCode) % (ulong)point.States.Length);
                e.Value = double.NaN;
            }
            else
            {
                e.Value = Wave(point, ts, Uniform(seed, key, SaltNoise));
            }
            if (options.SystemStateRate > 0 && Uniform(seed, key, SaltSys) < options.SystemStateRate)
            {
                int pick = (int)(Mix(seed, key, SaltCode + 1) % (ulong)Catalogue.SystemCodes.Length);
                e.IsSystem = true;
                e.StateIndex = pick + point.States.Length;
                e.Value = double.NaN;
            }
            return e;
        }

        private static long Offset(uint seed, long slot, long interval)
        {
            long raw = (long)(Uniform(seed, slot, SaltOffset) * interval);
            bool whole = Uniform(seed, slot, SaltWhole) < 0.5;
            return whole ? raw - raw % UsPerS : raw;
        }

        private static double Wave(PointDef point, long ts, double noise)
        {
            double seconds = (double)ts / UsPerS;
            double cycle = PyMod(seconds / point.PeriodS + point.Phase, 1.0);
            double span = point.High - point.Low;
            double unit;
            if (point.Wave == "sine")
            {
                unit = 0.5 + 0.5 * Math.Sin(2 * Math.PI * cycle);
            }
            else if (point.Wave == "ramp")
            {
                unit = Clip(Math.Min(cycle / 0.4, (1.0 - cycle) / 0.3));
                unit = Clip(unit + (noise - 0.5) * 0.02);
            }
            else
            {
                unit = Clip(0.5 + 0.3 * Math.Sin(2 * Math.PI * cycle) + (noise - 0.5) * 0.4);
            }
            // PI Float32 points store single precision.
            return (double)(float)(point.Low + span * unit);
        }

        private static double Clip(double x)
        {
            return x < 0.0 ? 0.0 : (x > 1.0 ? 1.0 : x);
        }

        /// <summary>numpy.mod for a positive divisor: the result has the sign of the divisor.</summary>
        private static double PyMod(double x, double m)
        {
            double r = x % m;
            if (r != 0 && r < 0)
            {
                r += m;
            }
            return r == 0 ? 0.0 : r;
        }

        public static long FloorDiv(long a, long b)
        {
            long q = a / b;
            if (a % b != 0 && ((a < 0) != (b < 0)))
            {
                q--;
            }
            return q;
        }

        public static long CeilDiv(long a, long b)
        {
            return -FloorDiv(-a, b);
        }

        /// <summary>splitmix64 of (seed, slot, salt), as generate._mix.</summary>
        public static ulong Mix(uint seed, long k, int salt)
        {
            unchecked
            {
                ulong z = (ulong)k * 0x9E3779B97F4A7C15UL;
                z += (ulong)seed * 0x632BE59BD9B4E019UL + (ulong)salt * 0xD1B54A32D192ED03UL;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                return z ^ (z >> 31);
            }
        }

        public static double Uniform(uint seed, long k, int salt)
        {
            return (double)(Mix(seed, k, salt) >> 11) * (1.0 / 9007199254740992.0);
        }
    }

    public static class Crc32
    {
        private static readonly uint[] Table = Build();

        public static uint Of(byte[] data)
        {
            uint crc = 0xFFFFFFFFu;
            foreach (byte b in data)
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }
            return crc ^ 0xFFFFFFFFu;
        }

        private static uint[] Build()
        {
            var table = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                }
                table[i] = c;
            }
            return table;
        }
    }
}
