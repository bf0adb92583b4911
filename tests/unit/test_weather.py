"""Outdoor-temperature files: the accepted layouts, and every kind of bad row named by its line."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.weather import (
    CMA,
    GSOD,
    MIN_HOURS_PER_DAY,
    PLAIN_DAILY,
    PLAIN_HOURLY,
    WeatherFileError,
    decode,
    parse_weather_csv,
)
from analytics.weather_store import weather_lines

GSOD_HEADER = ('"STATION","DATE","LATITUDE","LONGITUDE","ELEVATION","NAME","TEMP","TEMP_ATTRIBUTES","DEWP",'
               '"DEWP_ATTRIBUTES","SLP","SLP_ATTRIBUTES","STP","STP_ATTRIBUTES","VISIB","VISIB_ATTRIBUTES","WDSP",'
               '"WDSP_ATTRIBUTES","MXSPD","GUST","MAX","MAX_ATTRIBUTES","MIN","MIN_ATTRIBUTES","PRCP",'
               '"PRCP_ATTRIBUTES","SNDP","FRSHTT"')


def _gsod_row(station: str, day: str, temp_f: str) -> str:
    return (f'"{station}","{day}","40.1","113.333","1069.0","DATONG, CH","{temp_f}","24","  10.2","24","1030.1",'
            '"24","915.3","24","  9.9","24","  4.1","24","  7.0","999.9","  30.2*","","   5.0*","","0.00","G",'
            '"999.9","000000"')


def test_plain_daily_file_gives_each_day_in_order() -> None:
    days = parse_weather_csv("date,temp_c\n2026-01-02,-8.5\n2026-01-01,-10.25\n\n2026-01-03,0\n")
    assert days.layout == PLAIN_DAILY and days.station is None and days.missing_rows == 0
    assert days.temps == {dt.date(2026, 1, 1): -10.25, dt.date(2026, 1, 2): -8.5, dt.date(2026, 1, 3): 0.0}
    assert (days.first_day, days.last_day) == (dt.date(2026, 1, 1), dt.date(2026, 1, 3))


def test_plain_file_header_is_case_insensitive_extra_columns_ignored_and_station_labels_it() -> None:
    days = parse_weather_csv("Date,Temp_C,source\n2026-07-01,22.4,cma\n", station="53487")
    assert days.temps == {dt.date(2026, 7, 1): 22.4} and days.station == "53487"


def test_hourly_file_is_averaged_per_local_day_and_short_days_left_out() -> None:
    full = "".join(f"2026-01-05T{h:02d}:00,{h - 10}\n" for h in range(24))  # mean of -10..13 = 1.5
    short = "".join(f"2026-01-06T{h:02d}:00,5\n" for h in range(MIN_HOURS_PER_DAY - 1))
    utc = "".join(f"2026-01-06T{h:02d}:00:00+00:00,1\n" for h in range(16, 24))  # 00-07 local of 7 January
    local7 = "".join(f"2026-01-07T{h:02d}:00,3\n" for h in range(8, 24))  # 16 more hours: 24 in all
    days = parse_weather_csv("time,temp_c\n" + full + short + utc + local7)
    assert days.layout == PLAIN_HOURLY
    assert days.temps == {dt.date(2026, 1, 5): 1.5, dt.date(2026, 1, 7): round((8 * 1 + 16 * 3) / 24, 2)}
    assert days.partial_days == (dt.date(2026, 1, 6),)


def test_noaa_gsod_is_converted_from_fahrenheit_and_skips_its_missing_code() -> None:
    text = "\n".join([GSOD_HEADER, _gsod_row("53487099999", "2026-01-01", "  14.0"),
                      _gsod_row("53487099999", "2026-01-02", "9999.9"),
                      _gsod_row("53487099999", "2026-01-03", "  50.0")]) + "\n"
    days = parse_weather_csv(text)
    assert days.layout == GSOD and days.station == "53487099999" and days.missing_rows == 1
    assert days.temps == {dt.date(2026, 1, 1): -10.0, dt.date(2026, 1, 3): 10.0}


def test_gsod_with_several_stations_needs_station_and_takes_only_its_rows() -> None:
    text = "\n".join([GSOD_HEADER, _gsod_row("53487099999", "2026-01-01", "  14.0"),
                      _gsod_row("53478099999", "2026-01-01", "  23.0")]) + "\n"
    with pytest.raises(WeatherFileError, match=r"2 stations .*choose one with --station"):
        parse_weather_csv(text, source="gsod.csv")
    assert parse_weather_csv(text, station="53478099999").temps == {dt.date(2026, 1, 1): -5.0}
    with pytest.raises(WeatherFileError, match="station 12345 is not in the file"):
        parse_weather_csv(text, station="12345")


def test_cma_daily_in_english_element_codes_and_in_chinese_gb18030() -> None:
    english = ("Station_Id_C,Lat,Lon,Alti,Year,Mon,Day,TEM_Avg,TEM_Max,TEM_Min\n"
               "53487,40.1,113.33,1067.2,2026,1,1,-11.3,-3.2,-18.0\n"
               "53487,40.1,113.33,1067.2,2026,1,2,999999,999999,999999\n")
    days = parse_weather_csv(english)
    assert days.layout == CMA and days.station == "53487" and days.missing_rows == 1
    assert days.temps == {dt.date(2026, 1, 1): -11.3}
    chinese = "区站号,年,月,日,平均气温\n53487,2026,1,3,-7.5\n".encode("gb18030")
    assert parse_weather_csv(decode(chinese)).temps == {dt.date(2026, 1, 3): -7.5}


def test_tab_separated_file_is_read() -> None:
    assert parse_weather_csv("date\ttemp_c\n2026-03-01\t1.5\n").temps == {dt.date(2026, 3, 1): 1.5}


@pytest.mark.parametrize(("text", "message"), [
    ("date,temp_c\n2026-01-01,-3\n2026-13-01,2\n", r"w\.csv line 3: date '2026-13-01' is not YYYY-MM-DD"),
    ("date,temp_c\n2026-01-01,-3\n01/02/2026,2\n", r"w\.csv line 3: date '01/02/2026' is not YYYY-MM-DD"),
    ("date,temp_c\n2026-01-01,cold\n", r"w\.csv line 2: temperature 'cold' is not a number"),
    ("date,temp_c\n2026-01-01,\n", r"w\.csv line 2: temperature '' is not a number"),
    ("date,temp_c\n2026-01-01,nan\n", r"w\.csv line 2: temperature 'nan' is not a number"),
    ("date,temp_c\n2026-01-01,1\n2026-01-02,85\n", r"w\.csv line 3: temperature 85\.0 °C is outside -70\.\.60 °C"),
    ("date,temp_c\n2026-01-01,1\n\n2026-01-01,2\n", r"w\.csv line 4: 2026-01-01 is already on line 2"),
    ("date,temp_c\n2026-01-01,1,x\n", r"w\.csv line 2: 3 columns, the header on line 1 has 2"),
    ("day,mean\n2026-01-01,1\n", r"w\.csv line 1: header 'day,mean' is not a known layout: expected `date,temp_c`"),
    ("", r"w\.csv: empty file"),
    ("date,temp_c\n", r"w\.csv: no data rows after the header on line 1"),
    ("time,temp_c\n2026-01-01 25:00,1\n", r"w\.csv line 2: time '2026-01-01 25:00' is not an ISO date-time"),
    ("time,temp_c\n2026-01-01T01:00,1\n2026-01-01T01:00+08:00,2\n",
     r"w\.csv line 3: 2026-01-01T01:00\+08:00 is already on line 2"),
    ("time,temp_c\n2026-01-01T01:00,1\n", r"w\.csv: no local day has values in 18 or more hours"),
    ("Station_Id_C,Year,Mon,Day,TEM_Avg\n53487,2026,2,30,1.0\n", r"w\.csv line 2: year/month/day '2026-2-30'"),
    ("Station_Id_C,Year,Mon,Day,TEM_Avg\n53487,2026,2,3,999999\n", r"w\.csv: every row has the missing-value code"),
    (GSOD_HEADER + "\n" + _gsod_row("53487099999", "2026-01-01", "212.0") + "\n",
     r"w\.csv line 2: temperature 100\.0 °C \(converted from °F\) is outside"),
])
def test_bad_rows_name_their_line(text: str, message: str) -> None:
    with pytest.raises(WeatherFileError, match=message):
        parse_weather_csv(text, source="w.csv")


def test_undecodable_bytes_are_refused() -> None:
    with pytest.raises(WeatherFileError, match="neither UTF-8 nor GB18030"):
        decode(b"date,temp_c\n\xff\xff\xff\xff", "w.csv")


def test_points_are_one_per_county_and_day_at_shanghai_midnight() -> None:
    days = parse_weather_csv("date,temp_c\n2026-01-01,-10.5\n2026-01-02,-9\n", station="53487")
    lines = weather_lines("云冈区", days)
    assert lines == ['weather,county=云冈区 station="53487",temp_c=-10.5 1767196800',  # -9: still a float field
                     'weather,county=云冈区 station="53487",temp_c=-9 1767283200']
    assert dt.datetime.fromtimestamp(1767196800, dt.UTC) == dt.datetime(2025, 12, 31, 16, tzinfo=dt.UTC)
