// OSIsoft.AF.Asset: values as the AF SDK reference documents them.
using System;
using System.Collections.Generic;
using OSIsoft.AF.PI;
using OSIsoft.AF.Time;

namespace OSIsoft.AF.Asset
{
    [Flags]
    public enum AFValueStatus
    {
        Bad = 0,
        Questionable = 64,
        Good = 192,
        QualityMask = 192,
        SubstatusMask = 60,
        BadSubstituteValue = 60,
        UncertainSubstituteValue = 8,
        Substituted = 24,
        Constant = 3,
        Annotated = 32768,
    }

    /// <summary>A digital state (of a point's state set) or a system state. Like the real type it
    /// is IConvertible, so a reader that converts every IConvertible value to a number would
    /// silently turn states into their codes: the stand-in lets the tests catch that.</summary>
    public sealed class AFEnumerationValue : IConvertible
    {
        private readonly string _name;
        private readonly int _value;

        public AFEnumerationValue(string name, int value)
        {
            _name = name;
            _value = value;
        }

        public string Name
        {
            get { return _name; }
        }

        public int Value
        {
            get { return _value; }
        }

        public override string ToString()
        {
            return _name;
        }

        public TypeCode GetTypeCode() { return TypeCode.Object; }
        public bool ToBoolean(IFormatProvider p) { return _value != 0; }
        public byte ToByte(IFormatProvider p) { return Convert.ToByte(_value); }
        public char ToChar(IFormatProvider p) { return Convert.ToChar(_value); }
        public DateTime ToDateTime(IFormatProvider p) { throw new InvalidCastException(); }
        public decimal ToDecimal(IFormatProvider p) { return _value; }
        public double ToDouble(IFormatProvider p) { return _value; }
        public short ToInt16(IFormatProvider p) { return Convert.ToInt16(_value); }
        public int ToInt32(IFormatProvider p) { return _value; }
        public long ToInt64(IFormatProvider p) { return _value; }
        public sbyte ToSByte(IFormatProvider p) { return Convert.ToSByte(_value); }
        public float ToSingle(IFormatProvider p) { return _value; }
        public string ToString(IFormatProvider p) { return _name; }
        public object ToType(Type t, IFormatProvider p) { return Convert.ChangeType(_value, t, p); }
        public ushort ToUInt16(IFormatProvider p) { return Convert.ToUInt16(_value); }
        public uint ToUInt32(IFormatProvider p) { return Convert.ToUInt32(_value); }
        public ulong ToUInt64(IFormatProvider p) { return Convert.ToUInt64(_value); }
    }

    public sealed class AFValue
    {
        public AFValue(object value, AFTime timestamp)
        {
            Value = value;
            Timestamp = timestamp;
            Status = AFValueStatus.Good;
        }

        public object Value { get; set; }
        public AFTime Timestamp { get; set; }
        public AFValueStatus Status { get; set; }
        public PIPoint PIPoint { get; set; }

        public bool IsGood
        {
            get { return (Status & AFValueStatus.QualityMask) != AFValueStatus.Bad; }
        }

        public bool Questionable
        {
            get { return (Status & AFValueStatus.QualityMask) == AFValueStatus.Questionable; }
        }

        public bool Annotated
        {
            get { return (Status & AFValueStatus.Annotated) != 0; }
        }
    }

    /// <summary>AFValues is a List&lt;AFValue&gt; (sealed, as documented).</summary>
    public sealed class AFValues : List<AFValue>
    {
        private PIPoint _point;

        public AFValues()
        {
        }

        public AFValues(int capacity)
            : base(capacity)
        {
        }

        public PIPoint PIPoint
        {
            get { return _point; }
            set
            {
                _point = value;
                foreach (var item in this)
                {
                    item.PIPoint = value;
                }
            }
        }

        /// <summary>Three synchronized arrays: values, UTC timestamps, flags.</summary>
        public void GetValueArrays(out object[] values, out DateTime[] timestamps, out AFValueStatus[] flags)
        {
            int n = Count;
            values = new object[n];
            timestamps = new DateTime[n];
            flags = new AFValueStatus[n];
            for (int i = 0; i < n; i++)
            {
                AFValue v = this[i];
                values[i] = v.Value;
                timestamps[i] = v.Timestamp.UtcTime;
                flags[i] = v.Status;
            }
        }
    }
}
