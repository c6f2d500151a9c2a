// The PI Data Archive behind the stand-in: its known servers (each serving the Simulator's
// points with its own options), the failures it injects, and its call counters. Not part of
// the AF SDK: tests and the bench drive it through this namespace.
using System;
using System.Collections.Generic;
using System.Threading;
using OSIsoft.AF.Asset;
using OSIsoft.AF.Data;
using OSIsoft.AF.PI;
using OSIsoft.AF.Time;

namespace Naia.StandIn
{
    /// <summary>Failures the archive can inject. A fault fires Times times (-1: always), page
    /// faults only on page AtPage of a bulk read.</summary>
    public enum FaultKind
    {
        ConnectionFailure, // Connect: PIConnectionException
        AccessDenied, // Connect: PIAuthenticationException
        OperationTimeout, // a page: PITimeoutException in PIPagingConfiguration.Error
        ConnectionLost, // a page: the server disconnects, PIConnectionException in Error
        PagingError, // a page: PIException [-11049] in Error
        SlowPage, // a page takes DelayMs; beyond OperationTimeOut it fails as a timeout
    }

    public sealed class Fault
    {
        public FaultKind Kind;
        public int Times = 1;
        public int AtPage;
        public int DelayMs;

        internal bool Fires(FaultKind kind, int page)
        {
            bool pageFault = kind != FaultKind.ConnectionFailure && kind != FaultKind.AccessDenied;
            if (Kind != kind || Times == 0 || (pageFault && page != AtPage))
            {
                return false;
            }
            if (Times > 0)
            {
                Times--;
            }
            return true;
        }
    }

    public static class Archive
    {
        public const string DefaultServerName = "NAIA-SIM";
        public const string RealisticServerName = "NAIA-SIM-REALISTIC";

        private static readonly object Lock = new object();
        private static List<PIServer> _servers;
        private static readonly List<Fault> _faults = new List<Fault>();
        private static readonly Dictionary<string, string> _piUsers = new Dictionary<string, string>();
        private static readonly Dictionary<string, int> _ids = new Dictionary<string, int>();
        private static Random _random;

        public static int Connects, Lookups, RecordedValuesCalls, Pages, Results;
        public static readonly List<string> Auth = new List<string>(); // "mode user": never a password

        static Archive()
        {
            Reset();
        }

        /// <summary>Back to the two known servers, no faults, no PI users, zero counters.</summary>
        public static void Reset()
        {
            lock (Lock)
            {
                _servers = new List<PIServer>
                {
                    new PIServer(DefaultServerName, new PointOptions()),
                    new PIServer(RealisticServerName, PointOptions.Realistic()),
                };
                _faults.Clear();
                _piUsers.Clear();
                _ids.Clear();
                Auth.Clear();
                _random = new Random(7);
                Connects = Lookups = RecordedValuesCalls = Pages = Results = 0;
            }
        }

        public static void AddServer(string name, double intervalSeconds, bool irregular,
            double sameTimestampRate, double systemStateRate, double gapRate)
        {
            var options = new PointOptions
            {
                IntervalSeconds = intervalSeconds, Irregular = irregular, SameTimestampRate = sameTimestampRate,
                SystemStateRate = systemStateRate, GapRate = gapRate,
            };
            lock (Lock)
            {
                _servers.Add(new PIServer(name, options));
            }
        }

        public static void AddFault(FaultKind kind, int times, int atPage, int delayMs)
        {
            lock (Lock)
            {
                _faults.Add(new Fault { Kind = kind, Times = times, AtPage = atPage, DelayMs = delayMs });
            }
        }

        public static void AddPIUser(string name, string password)
        {
            lock (Lock)
            {
                _piUsers[name] = password;
            }
        }

        public static void Seed(int seed)
        {
            lock (Lock)
            {
                _random = new Random(seed);
            }
        }

        /// <summary>The Simulator's events of one point, as the stand-in serves them: for tests
        /// that compare the port with the Python generator directly.</summary>
        public static void Events(string server, string point, long startUs, long endUs,
            out long[] tsUs, out double[] values, out int[] stateIndex, out bool[] isSystem)
        {
            PIServer found = FindServer(server);
            PointDef definition = Catalogue.Find(point);
            if (found == null || definition == null)
            {
                throw new ArgumentException("unknown server or point: " + server + ", " + point);
            }
            List<SimEvent> events = Generator.Generate(definition, found.Options, startUs, endUs);
            int n = events.Count;
            tsUs = new long[n];
            values = new double[n];
            stateIndex = new int[n];
            isSystem = new bool[n];
            for (int i = 0; i < n; i++)
            {
                tsUs[i] = events[i].TsUs;
                values[i] = events[i].Value;
                stateIndex[i] = events[i].StateIndex;
                isSystem[i] = events[i].IsSystem;
            }
        }

        /// <summary>An AFValues of one point built in .NET (for the decode bench).</summary>
        public static AFValues Build(string server, string point, long startUs, long endUs)
        {
            PIServer found = FindServer(server);
            IList<PIPoint> points = FindPoints(found, new[] { point });
            long startTicks = Ticks.Epoch + startUs * Ticks.PerUs;
            long endTicks = Ticks.Epoch + (endUs - 1) * Ticks.PerUs;
            return Values(points[0], new AFTimeRange(new AFTime(startTicks), new AFTime(endTicks)), 0, int.MaxValue);
        }

        // -- the servers table -----------------------------------------------------------------

        internal static List<PIServer> Servers()
        {
            lock (Lock)
            {
                return new List<PIServer>(_servers);
            }
        }

        internal static PIServer FindServer(string name)
        {
            foreach (var server in Servers())
            {
                if (string.Equals(server.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    return server;
                }
            }
            return null;
        }

        internal static PIServer DefaultServer()
        {
            List<PIServer> servers = Servers();
            return servers.Count > 0 ? servers[0] : null;
        }

        // -- connections -------------------------------------------------------------------------

        internal static void BeforeConnect(PIServer server)
        {
            Interlocked.Increment(ref Connects);
            if (FaultFires(FaultKind.ConnectionFailure, 0) != null)
            {
                throw new PIConnectionException("Cannot connect to PI Data Archive '" + server.Name + "'.", server);
            }
            if (FaultFires(FaultKind.AccessDenied, 0) != null)
            {
                throw new PIAuthenticationException("Access to PI Data Archive '" + server.Name + "' was denied.", server);
            }
        }

        internal static void RecordAuth(string mode, string user)
        {
            lock (Lock)
            {
                Auth.Add(user == null ? mode : mode + " " + user);
            }
        }

        internal static bool CheckPIUser(string user, string password)
        {
            lock (Lock)
            {
                string known;
                return _piUsers.TryGetValue(user, out known) && known == password;
            }
        }

        private static Fault FaultFires(FaultKind kind, int page)
        {
            lock (Lock)
            {
                foreach (var fault in _faults)
                {
                    if (fault.Fires(kind, page))
                    {
                        return fault;
                    }
                }
                return null;
            }
        }

        // -- points --------------------------------------------------------------------------------

        internal static IList<PIPoint> FindPoints(PIServer server, IEnumerable<string> names)
        {
            Interlocked.Increment(ref Lookups);
            var found = new List<PIPoint>();
            foreach (string name in names)
            {
                PointDef definition = name == null ? null : Catalogue.Find(name);
                if (definition != null)
                {
                    found.Add(new PIPoint(server, definition, PointId(definition.Name)));
                }
            }
            return found;
        }

        private static int PointId(string name)
        {
            lock (Lock)
            {
                int id;
                if (!_ids.TryGetValue(name, out id))
                {
                    id = _ids.Count + 1;
                    _ids[name] = id;
                }
                return id;
            }
        }

        // -- reads ---------------------------------------------------------------------------------

        internal static void CheckRead(AFBoundaryType boundaryType, string filterExpression, int maxCount)
        {
            if (boundaryType != AFBoundaryType.Inside || !string.IsNullOrEmpty(filterExpression) || maxCount != 0)
            {
                throw new NotSupportedException("the stand-in serves Inside, unfiltered reads without maxCount");
            }
        }

        /// <summary>Values of [start, end] (Inside: both ends included), from the index'th on,
        /// at most count of them.</summary>
        internal static AFValues Values(PIPoint point, AFTimeRange range, int from, int count)
        {
            long startTicks = range.StartTime.UtcTime.Ticks - Ticks.Epoch;
            long endTicks = range.EndTime.UtcTime.Ticks - Ticks.Epoch;
            long startUs = Generator.CeilDiv(startTicks, Ticks.PerUs);
            long endUs = Generator.FloorDiv(endTicks, Ticks.PerUs);
            var result = new AFValues();
            if (endUs < startUs)
            {
                return result;
            }
            List<SimEvent> events = Generator.Generate(point.Definition, point.Server.Options, startUs, endUs + 1);
            int stop = (int)Math.Min((long)events.Count, (long)from + count);
            result.Capacity = Math.Max(0, stop - from);
            for (int i = from; i < stop; i++)
            {
                result.Add(ToAFValue(point, events[i]));
            }
            result.PIPoint = point;
            return result;
        }

        private static AFValue ToAFValue(PIPoint point, SimEvent e)
        {
            var time = new AFTime(Ticks.Epoch + e.TsUs * Ticks.PerUs);
            string[] states = point.Definition.States;
            AFValue value;
            if (e.StateIndex < 0)
            {
                value = new AFValue((float)e.Value, time); // a Float32 point's value is a Single
            }
            else if (e.IsSystem)
            {
                int k = e.StateIndex - states.Length;
                value = new AFValue(new AFEnumerationValue(Catalogue.SystemNames[k], Catalogue.SystemCodes[k]), time);
                value.Status = AFValueStatus.Bad; // system states come with a Bad status
            }
            else
            {
                value = new AFValue(new AFEnumerationValue(states[e.StateIndex], e.StateIndex), time);
            }
            value.PIPoint = point;
            return value;
        }

        internal static IEnumerable<AFValues> Recorded(List<PIPoint> points, AFTimeRange range, PIPagingConfiguration config)
        {
            Interlocked.Increment(ref RecordedValuesCalls);
            Shuffle(points);
            var pages = new List<List<AFValues>>();
            var page = new List<AFValues>();
            int events = 0;
            foreach (var point in points)
            {
                AFValues all = Values(point, range, 0, int.MaxValue);
                if (config.PageType == PIPageType.TagCount)
                {
                    page.Add(all);
                    if (page.Count >= config.PageSize)
                    {
                        pages.Add(page);
                        page = new List<AFValues>();
                    }
                    continue;
                }
                // EventCount: a page holds at most PageSize events; a point larger than what is
                // left of the page continues, as a further AFValues, on the next page.
                int at = 0;
                do
                {
                    int take = Math.Min(all.Count - at, config.PageSize - events);
                    page.Add(Part(all, at, take, point));
                    at += take;
                    events += take;
                    if (events >= config.PageSize)
                    {
                        pages.Add(page);
                        page = new List<AFValues>();
                        events = 0;
                    }
                }
                while (at < all.Count);
            }
            if (page.Count > 0)
            {
                pages.Add(page);
            }
            return Serve(points.Count > 0 ? points[0].Server : null, pages, config);
        }

        private static AFValues Part(AFValues all, int at, int take, PIPoint point)
        {
            var part = new AFValues(take);
            part.AddRange(all.GetRange(at, take));
            part.PIPoint = point;
            return part;
        }

        private static IEnumerable<AFValues> Serve(PIServer server, List<List<AFValues>> pages, PIPagingConfiguration config)
        {
            for (int number = 0; number < pages.Count; number++)
            {
                BeforePage(server, number, config);
                Interlocked.Increment(ref Pages);
                List<AFValues> page = pages[number];
                Shuffle(page);
                foreach (var values in page)
                {
                    Interlocked.Increment(ref Results);
                    yield return values;
                }
            }
        }

        private static void BeforePage(PIServer server, int number, PIPagingConfiguration config)
        {
            string name = server == null ? "?" : server.Name;
            if (server != null && !server.IsConnected)
            {
                throw config.Cancel(new PIConnectionException("Not connected to PI Data Archive '" + name + "'.", server));
            }
            if (FaultFires(FaultKind.OperationTimeout, number) != null)
            {
                throw config.Cancel(new PITimeoutException("The operation has timed out.", server));
            }
            if (FaultFires(FaultKind.ConnectionLost, number) != null)
            {
                server.Drop();
                throw config.Cancel(new PIConnectionException("The connection to PI Data Archive '" + name + "' was lost.", server));
            }
            if (FaultFires(FaultKind.PagingError, number) != null)
            {
                throw config.Cancel(new PIException(server, "[-11049] Invalid data for this point type.", -11049));
            }
            Fault slow = FaultFires(FaultKind.SlowPage, number);
            if (slow != null)
            {
                TimeSpan limit = config.OperationTimeoutOverride ?? server.ConnectionInfo.OperationTimeOut;
                if (slow.DelayMs > limit.TotalMilliseconds)
                {
                    Thread.Sleep(limit);
                    throw config.Cancel(new TimeoutException(
                        "The operation has timed out after " + limit.TotalSeconds + " s."));
                }
                Thread.Sleep(slow.DelayMs);
            }
        }

        private static void Shuffle<T>(List<T> items)
        {
            lock (Lock)
            {
                for (int i = items.Count - 1; i > 0; i--)
                {
                    int j = _random.Next(i + 1);
                    T t = items[i];
                    items[i] = items[j];
                    items[j] = t;
                }
            }
        }
    }
}
