// OSIsoft.AF.Time as the AF SDK reference documents it (AFTime, AFTimeRange are structures).
using System;

namespace OSIsoft.AF.Time
{
    public struct AFTime : IComparable<AFTime>, IEquatable<AFTime>
    {
        private readonly long _ticks;

        /// <summary>AFTime(DateTime): a DateTime of Kind Unspecified is taken as UTC.</summary>
        public AFTime(DateTime time)
        {
            _ticks = time.Kind == DateTimeKind.Local ? time.ToUniversalTime().Ticks : time.Ticks;
        }

        /// <summary>AFTime(Int64): UTC ticks since 0001-01-01.</summary>
        public AFTime(long ticks)
        {
            _ticks = ticks;
        }

        public DateTime UtcTime
        {
            get { return new DateTime(_ticks, DateTimeKind.Utc); }
        }

        public DateTime LocalTime
        {
            get { return UtcTime.ToLocalTime(); }
        }

        public double UtcSeconds
        {
            get { return (_ticks - Naia.StandIn.Ticks.Epoch) / 1e7; }
        }

        public int CompareTo(AFTime other)
        {
            return _ticks.CompareTo(other._ticks);
        }

        public bool Equals(AFTime other)
        {
            return _ticks == other._ticks;
        }

        public override bool Equals(object obj)
        {
            return obj is AFTime && Equals((AFTime)obj);
        }

        public override int GetHashCode()
        {
            return _ticks.GetHashCode();
        }

        public override string ToString()
        {
            return UtcTime.ToString("o");
        }
    }

    public struct AFTimeRange
    {
        private readonly AFTime _start;
        private readonly AFTime _end;

        public AFTimeRange(AFTime startTime, AFTime endTime)
        {
            _start = startTime;
            _end = endTime;
        }

        public AFTime StartTime
        {
            get { return _start; }
        }

        public AFTime EndTime
        {
            get { return _end; }
        }
    }
}
