// OSIsoft.AF.PI: servers, points, bulk reads, paging and the SDK's exceptions, with the
// signatures of the AF SDK reference. The data behind them is Naia.StandIn.Archive.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Net;
using System.ServiceModel;
using Naia.StandIn;
using OSIsoft.AF.Asset;
using OSIsoft.AF.Data;
using OSIsoft.AF.Time;

namespace OSIsoft.AF.PI
{
    public enum PIPageType
    {
        TagCount = 0,
        EventCount = 1,
    }

    public enum PIAuthenticationMode
    {
        WindowsAuthentication = 0,
        PIUserAuthentication = 1,
    }

    /// <summary>An error returned from the PIServer (a System.Exception).</summary>
    public class PIException : Exception
    {
        public PIException(PIServer piServer, string message, int statusCode, Exception innerException = null)
            : base(message, innerException)
        {
            Server = piServer;
            StatusCode = statusCode;
        }

        public PIServer Server { get; private set; }
        public int StatusCode { get; private set; }
    }

    public sealed class PIPointInvalidException : PIException
    {
        public PIPointInvalidException(PIServer piServer, string message)
            : base(piServer, message, -12010)
        {
        }
    }

    /// <summary>A connection error: a System.ServiceModel.CommunicationException, as documented.</summary>
    public class PIConnectionException : CommunicationException
    {
        public PIConnectionException(string message, PIServer server = null, Exception innerException = null)
            : base(message, innerException)
        {
            Server = server;
        }

        public PIServer Server { get; private set; }
    }

    public sealed class PIAuthenticationException : PIConnectionException
    {
        public PIAuthenticationException(string message, PIServer server = null)
            : base(message, server)
        {
        }
    }

    public sealed class PITimeoutException : PIConnectionException
    {
        public PITimeoutException(string message, PIServer server = null)
            : base(message, server)
        {
        }
    }

    public sealed class PIConnectionInfo
    {
        internal PIConnectionInfo(PIServer server)
        {
            PIServer = server;
            ConnectionTimeOut = TimeSpan.FromSeconds(10);
            OperationTimeOut = TimeSpan.FromSeconds(60);
        }

        public PIServer PIServer { get; private set; }
        public TimeSpan ConnectionTimeOut { get; set; }
        public TimeSpan OperationTimeOut { get; set; }

        public bool IsConnected
        {
            get { return PIServer.IsConnected; }
        }
    }

    public sealed class PIServer
    {
        private readonly PIConnectionInfo _info;
        private bool _connected;

        internal PIServer(string name, PointOptions options)
        {
            Name = name;
            Options = options;
            _info = new PIConnectionInfo(this);
        }

        public string Name { get; private set; }
        internal PointOptions Options { get; private set; }

        public PIConnectionInfo ConnectionInfo
        {
            get { return _info; }
        }

        public bool IsConnected
        {
            get { return _connected; }
        }

        /// <summary>Connect(): Windows integrated security (the process's account).</summary>
        public void Connect()
        {
            Connect(false);
        }

        public void Connect(bool autoPrompt)
        {
            Archive.BeforeConnect(this);
            Archive.RecordAuth("WindowsAuthentication", null);
            _connected = true;
        }

        public void Connect(NetworkCredential credential, PIAuthenticationMode authenticationMode)
        {
            Archive.BeforeConnect(this);
            Archive.RecordAuth(authenticationMode.ToString(), credential.UserName);
            if (authenticationMode == PIAuthenticationMode.PIUserAuthentication
                && !Archive.CheckPIUser(credential.UserName, credential.Password))
            {
                throw new PIAuthenticationException(
                    "PI user authentication failed for '" + credential.UserName + "' on '" + Name + "'.", this);
            }
            _connected = true;
        }

        public void Disconnect()
        {
            _connected = false;
        }

        /// <summary>The SDK connects implicitly when a call needs the server.</summary>
        internal void EnsureConnected()
        {
            if (!_connected)
            {
                Connect();
            }
        }

        internal void Drop()
        {
            _connected = false;
        }

        public override string ToString()
        {
            return Name;
        }
    }

    /// <summary>The PI Data Archives known to this host (the known servers table).</summary>
    public sealed class PIServers : IEnumerable<PIServer>
    {
        public PIServer this[string name]
        {
            get { return Archive.FindServer(name); }
        }

        public PIServer DefaultPIServer
        {
            get { return Archive.DefaultServer(); }
        }

        public int Count
        {
            get { return Archive.Servers().Count; }
        }

        public IEnumerator<PIServer> GetEnumerator()
        {
            return Archive.Servers().GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator()
        {
            return GetEnumerator();
        }
    }

    public sealed class PIPoint
    {
        internal PIPoint(PIServer server, PointDef definition, int id)
        {
            Server = server;
            Definition = definition;
            ID = id;
        }

        public PIServer Server { get; private set; }
        public int ID { get; private set; }
        internal PointDef Definition { get; private set; }

        public string Name
        {
            get { return Definition.Name; }
        }

        public static PIPoint FindPIPoint(PIServer piServer, string pointName)
        {
            IList<PIPoint> found = FindPIPoints(piServer, new[] { pointName });
            if (found.Count == 0)
            {
                throw new PIPointInvalidException(piServer, "PI Point not found '" + pointName + "'.");
            }
            return found[0];
        }

        /// <summary>Points of these names; names the archive does not hold are left out.</summary>
        public static IList<PIPoint> FindPIPoints(
            PIServer piServer, IEnumerable<string> names, IEnumerable<string> attributeNames = null)
        {
            if (piServer == null)
            {
                throw new ArgumentNullException("piServer");
            }
            if (names == null)
            {
                throw new ArgumentNullException("names");
            }
            piServer.EnsureConnected();
            return Archive.FindPoints(piServer, names);
        }

        /// <summary>One point's recorded values (no paging).</summary>
        public AFValues RecordedValues(
            AFTimeRange timeRange, AFBoundaryType boundaryType, string filterExpression,
            bool includeFilteredValues, int maxCount = 0)
        {
            Server.EnsureConnected();
            Archive.CheckRead(boundaryType, filterExpression, maxCount);
            return Archive.Values(this, timeRange, 0, int.MaxValue);
        }

        public override string ToString()
        {
            return Name;
        }
    }

    public sealed class PIPagingConfiguration
    {
        private Exception _error;

        public PIPagingConfiguration(PIPageType pageType, int pageSize)
        {
            if (pageSize <= 0)
            {
                throw new ArgumentOutOfRangeException("pageSize", "The page size must be positive.");
            }
            PageType = pageType;
            PageSize = pageSize;
        }

        public PIPageType PageType { get; set; }
        public int PageSize { get; set; }
        public TimeSpan? OperationTimeoutOverride { get; set; }

        /// <summary>The exception that caused the OperationCanceledException.</summary>
        public Exception Error
        {
            get { return _error; }
        }

        internal OperationCanceledException Cancel(Exception cause)
        {
            _error = cause;
            return new OperationCanceledException("The operation was canceled.");
        }
    }

    public sealed class PIPointList : IList<PIPoint>
    {
        private readonly List<PIPoint> _points = new List<PIPoint>();

        public PIPointList()
        {
        }

        public PIPointList(IEnumerable<PIPoint> points)
        {
            _points.AddRange(points);
        }

        public int Count
        {
            get { return _points.Count; }
        }

        public bool IsReadOnly
        {
            get { return false; }
        }

        public PIPoint this[int index]
        {
            get { return _points[index]; }
            set { _points[index] = value; }
        }

        /// <summary>Adds the point; returns the index where it was added.</summary>
        public int Add(PIPoint item)
        {
            if (item == null)
            {
                throw new ArgumentNullException("item");
            }
            _points.Add(item);
            return _points.Count - 1;
        }

        void ICollection<PIPoint>.Add(PIPoint item)
        {
            Add(item);
        }

        public void AddRange(IEnumerable<PIPoint> points)
        {
            foreach (var point in points)
            {
                Add(point);
            }
        }

        public void Clear() { _points.Clear(); }
        public bool Contains(PIPoint item) { return _points.Contains(item); }
        public void CopyTo(PIPoint[] array, int arrayIndex) { _points.CopyTo(array, arrayIndex); }
        public int IndexOf(PIPoint item) { return _points.IndexOf(item); }
        public void Insert(int index, PIPoint item) { _points.Insert(index, item); }
        public bool Remove(PIPoint item) { return _points.Remove(item); }
        public void RemoveAt(int index) { _points.RemoveAt(index); }
        public IEnumerator<PIPoint> GetEnumerator() { return _points.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() { return GetEnumerator(); }

        /// <summary>Bulk recorded values, lazily, page by page: one AFValues per point (or per
        /// part of a point with EventCount paging), in no particular order. A failed page raises
        /// OperationCanceledException with the cause in pagingConfig.Error.</summary>
        public IEnumerable<AFValues> RecordedValues(
            AFTimeRange timeRange, AFBoundaryType boundaryType, string filterExpression,
            bool includeFilteredValues, PIPagingConfiguration pagingConfig, int maxCount = 0)
        {
            if (pagingConfig == null)
            {
                throw new ArgumentNullException("pagingConfig");
            }
            Archive.CheckRead(boundaryType, filterExpression, maxCount);
            return Archive.Recorded(new List<PIPoint>(_points), timeRange, pagingConfig);
        }
    }
}
