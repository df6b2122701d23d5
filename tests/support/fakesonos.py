"""Loopback fake Sonos speakers that answer the UPnP calls SoCo makes, scripted by a timeline of states.

Each `FakeSpeaker` is a `FakeWeb` on its own loopback address (127.0.0.2, 127.0.0.3, …; Linux routes all of 127/8 to
`lo`) and a free port: SoCo takes a port beside the address, so no test needs root for port 1400. It serves:
- `GET /xml/device_description.xml` (room name, serial number, model);
- `GET /xml/<Service>1.xml`, the service descriptions SoCo reads before an action called without arguments
  (ZoneGroupTopology, DeviceProperties, MusicServices);
- `POST /MediaRenderer/AVTransport/Control`: GetPositionInfo, GetTransportInfo, GetMediaInfo;
- `POST /ZoneGroupTopology/Control`: GetZoneGroupState, the household's groups (shared through `FakeHousehold`);
- `POST /DeviceProperties/Control`: GetHouseholdID;
- `POST /MusicServices/Control`: ListAvailableServices, the speaker's own sid → name list.

Answers have the shapes real speakers send: SOAP envelopes whose DIDL-Lite metadata is escaped XML inside XML,
`0:00:00` durations and `streamContent` for radio, `NOT_IMPLEMENTED` metadata for line-in, `x-rincon:` track URIs on
group members. The state at a moment comes from the speaker's timeline: `Segment(at, state, position_s, track)` says
that from test time `at` on the speaker is in `state`; while PLAYING the position advances with the test clock.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import soco.core

from .fakeweb import FakeWeb, Reply, Request

__all__ = [
    "SERVICE_LIST",
    "FakeHousehold",
    "FakeSpeaker",
    "Segment",
    "Track",
    "local_file",
    "radio",
    "spotify",
]

_SOAP = (
    '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
    '<u:{action}Response xmlns:u="urn:schemas-upnp-org:service:{service}:1">{args}</u:{action}Response>'
    "</s:Body></s:Envelope>"
)
_FAULT = (
    '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
    "<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
    '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>{code}</errorCode></UPnPError>'
    "</detail></s:Fault></s:Body></s:Envelope>"
)
_DIDL = (
    '<DIDL-Lite xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:upnp="urn:schemas-upnp-org:metadata-1-0/upnp/" '
    'xmlns:r="urn:schemas-rinconnetworks-com:metadata-1-0/" xmlns="urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/">'
    '<item id="-1" parentID="-1" restricted="true">{body}</item></DIDL-Lite>'
)

SERVICE_LIST: dict[int, str] = {
    2: "Deezer",
    12: "Spotify",
    160: "SoundCloud",
    204: "Apple Music",
    254: "TuneIn",
    303: "Sonos Radio",
}
"""A speaker's `ListAvailableServices`, trimmed to a few of the ~100 services a real speaker lists."""

_SCPD: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "ZoneGroupTopology": [("GetZoneGroupState", [], ["ZoneGroupState"])],
    "DeviceProperties": [("GetHouseholdID", [], ["CurrentHouseholdID"])],
    "MusicServices": [
        ("ListAvailableServices", [], ["AvailableServiceDescriptorList", "AvailableServiceTypeList",
                                       "AvailableServiceListVersion"]),
    ],
}  # fmt: skip


def _scpd(service: str) -> bytes:
    actions, variables = [], []
    for name, ins, outs in _SCPD[service]:
        args = [(a, "in") for a in ins] + [(a, "out") for a in outs]
        arglist = "".join(
            f"<argument><name>{a}</name><direction>{d}</direction>"
            f"<relatedStateVariable>A_ARG_TYPE_{a}</relatedStateVariable></argument>"
            for a, d in args
        )
        actions.append(f"<action><name>{name}</name><argumentList>{arglist}</argumentList></action>")
        variables += [
            f'<stateVariable sendEvents="no"><name>A_ARG_TYPE_{a}</name><dataType>string</dataType></stateVariable>'
            for a, _ in args
        ]
    return (
        '<?xml version="1.0"?><scpd xmlns="urn:schemas-upnp-org:service-1-0"><specVersion><major>1</major>'
        f"<minor>0</minor></specVersion><actionList>{''.join(actions)}</actionList>"
        f"<serviceStateTable>{''.join(variables)}</serviceStateTable></scpd>"
    ).encode()


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@dataclass(frozen=True)
class Track:
    uri: str
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    duration_s: float = 0.0
    """0 for radio: a stream has no duration."""
    stream_content: str | None = None
    station: str | None = None
    queue_position: int = 1


def spotify(track_id: str, title: str, artist: str, album: str, duration_s: float, sid: int = 12) -> Track:
    return Track(
        uri=f"x-sonos-spotify:spotify%3atrack%3a{track_id}?sid={sid}&flags=8224&sn=7",
        title=title,
        artist=artist,
        album=album,
        duration_s=duration_s,
    )


def radio(station_id: str, station: str, stream_content: str, sid: int = 254) -> Track:
    return Track(
        uri=f"x-sonosapi-stream:{station_id}?sid={sid}&flags=8224&sn=0",
        title=f"x-sonosapi-stream:{station_id}?sid={sid}&flags=8224&sn=0",  # what real speakers put in dc:title
        stream_content=stream_content,
        station=station,
    )


def local_file(path: str, title: str, artist: str, album: str, duration_s: float) -> Track:
    return Track(uri=f"x-file-cifs://nas/Music/{path}", title=title, artist=artist, album=album, duration_s=duration_s)


@dataclass(frozen=True)
class Segment:
    at: float
    """Test time (seconds) from which this segment holds."""
    state: str
    position_s: float = 0.0
    track: Track | None = None
    """None: the track of the previous segment."""


@dataclass
class FakeHousehold:
    """The speakers of one household and how they are grouped; every speaker answers the same topology."""

    id: str = field(default_factory=lambda: f"Sonos_{uuid.uuid4().hex[:24]}")
    speakers: list[FakeSpeaker] = field(default_factory=list)
    groups: list[list[FakeSpeaker]] = field(default_factory=list)
    """Each group, coordinator first; a speaker in no group plays alone."""

    def group_of(self, speaker: FakeSpeaker) -> list[FakeSpeaker]:
        return next((g for g in self.groups if speaker in g), [speaker])

    def zone_group_state(self) -> str:
        groups = [*self.groups, *([s] for s in self.speakers if not any(s in g for g in self.groups))]
        xml = []
        for n, group in enumerate(groups):
            members = "".join(
                f'<ZoneGroupMember UUID="{s.uid}" Location="{s.base_url}/xml/device_description.xml" '
                f'ZoneName="{escape(s.room)}" Icon="" Configuration="1" SoftwareVersion="85.0-64200" '
                f'SWGen="2" MinCompatibleVersion="84.0-00000" BootSeq="42" ChannelMapSet="" />'
                for s in group
            )
            xml.append(f'<ZoneGroup Coordinator="{group[0].uid}" ID="{group[0].uid}:{n + 1}">{members}</ZoneGroup>')
        return f"<ZoneGroupState><ZoneGroups>{''.join(xml)}</ZoneGroups><VanishedDevices/></ZoneGroupState>"


_serial = itertools.count(1)


def _forget_soco_at(host: str) -> None:
    """SoCo keeps one object per address and port for the life of the process, with the household id it read once.
    A new fake speaker can be given the port of one from an earlier test (ports are reused): SoCo would then answer
    with that earlier household's groups, whose speakers are gone. A real speaker keeps its household, so this is a
    test's concern only: a new fake speaker's address starts with no SoCo object."""
    for instances in soco.core._ArgsSingleton._instances.values():
        for key in [k for k in instances if k and k[0] == host]:
            del instances[key]


class FakeSpeaker:
    def __init__(
        self,
        host: str,
        room: str,
        household: FakeHousehold,
        clock: Callable[[], float],
        services: dict[int, str] | None = None,
    ) -> None:
        n = next(_serial)
        self.room = room
        self.uid = f"RINCON_{n:012X}01400"
        self.household = household
        self.clock = clock
        self.services = dict(SERVICE_LIST if services is None else services)
        self.timeline: list[Segment] = []
        self.broken_metadata = False
        """Answer GetPositionInfo with metadata that is not XML (a firmware quirk): the poll fails, not the speaker."""
        self.broken_service_list = False
        """Answer ListAvailableServices with a descriptor list cut off mid-element."""
        self._lock = threading.Lock()
        self.base_url = ""
        self.web = FakeWeb(host)
        self.host = host
        self.web.route("GET", "/xml/device_description.xml", self._description)
        for service in _SCPD:
            self.web.reply("GET", f"/xml/{service}1.xml", Reply.raw(_scpd(service), content_type="text/xml"))
        for path in ("MediaRenderer/AVTransport", "ZoneGroupTopology", "DeviceProperties", "MusicServices"):
            self.web.route("POST", f"/{path}/Control", self._control)
        household.speakers.append(self)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeSpeaker:
        first = not self.base_url
        self.web.start()
        self.base_url = self.web.base_url  # kept once stopped: the household still lists a switched-off speaker
        if first:
            _forget_soco_at(self.host)
        return self

    def stop(self) -> None:
        """The speaker is switched off: nothing answers at its address any more."""
        self.web.stop()

    @property
    def address(self) -> str:
        return self.base_url.removeprefix("http://")

    def play(self, *segments: Segment) -> None:
        with self._lock:
            self.timeline.extend(segments)
            self.timeline.sort(key=lambda s: s.at)

    # -- what the speaker does now ----------------------------------------------------------------

    def now(self) -> tuple[str, float, Track | None]:
        t = self.clock()
        with self._lock:
            state, position, track, since = "STOPPED", 0.0, None, t
            for seg in self.timeline:
                if seg.at > t:
                    break
                state, position, since = seg.state, seg.position_s, seg.at
                track = seg.track or track
        if state == "PLAYING" and track is not None:
            position += t - since
            if track.duration_s:
                position = min(position, track.duration_s)
        return state, position, track

    # -- HTTP ---------------------------------------------------------------------------------------

    def _description(self, request: Request) -> Reply:
        body = (
            '<?xml version="1.0" encoding="utf-8" ?><root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion>'
            "<major>1</major><minor>0</minor></specVersion><device>"
            "<deviceType>urn:schemas-upnp-org:device:ZonePlayer:1</deviceType>"
            f"<friendlyName>{escape(self.address)} - Sonos One</friendlyName><manufacturer>Sonos, Inc.</manufacturer>"
            "<modelNumber>S18</modelNumber><modelName>Sonos One</modelName>"
            "<softwareVersion>85.0-64200</softwareVersion><hardwareVersion>1.20.1.6-2.1</hardwareVersion>"
            f"<serialNum>48-A6-B8-00-00-{next(_serial) % 256:02X}:E</serialNum><UDN>uuid:{self.uid}</UDN>"
            f"<roomName>{escape(self.room)}</roomName><displayName>One</displayName></device></root>"
        )
        return Reply.raw(body.encode(), content_type='text/xml; charset="utf-8"')

    def _control(self, request: Request) -> Reply:
        action = (request.header("SOAPACTION") or "").strip('"').rpartition("#")[2]
        service = request.path.strip("/").removesuffix("/Control").rpartition("/")[2]
        answers = {
            "GetPositionInfo": self._position_info,
            "GetTransportInfo": self._transport_info,
            "GetMediaInfo": self._media_info,
            "GetZoneGroupState": lambda: {"ZoneGroupState": self.household.zone_group_state()},
            "GetHouseholdID": lambda: {"CurrentHouseholdID": self.household.id},
            "ListAvailableServices": self._services,
        }
        if action not in answers:
            return Reply.raw(_FAULT.format(code=401).encode(), 500, content_type='text/xml; charset="utf-8"')
        args = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in answers[action]().items())
        body = _SOAP.format(action=action, service=service, args=args)
        return Reply.raw(body.encode(), content_type='text/xml; charset="utf-8"')

    def _coordinator(self) -> FakeSpeaker:
        return self.household.group_of(self)[0]

    def _position_info(self) -> dict[str, str]:
        coordinator = self._coordinator()
        if coordinator is not self:  # a group member follows its coordinator's stream
            return {"Track": "1", "TrackDuration": "0:00:00", "TrackMetaData": "", "TrackURI": f"x-rincon:"
                    f"{coordinator.uid}", "RelTime": "0:00:00", "AbsTime": "NOT_IMPLEMENTED", "RelCount": "2147483647",
                    "AbsCount": "2147483647"}  # fmt: skip
        _, position, track = self.now()
        if track is None:
            return {"Track": "0", "TrackDuration": "", "TrackMetaData": "", "TrackURI": "", "RelTime": "",
                    "AbsTime": "NOT_IMPLEMENTED", "RelCount": "2147483647", "AbsCount": "2147483647"}  # fmt: skip
        if track.uri.startswith("x-rincon-stream:"):
            metadata = "NOT_IMPLEMENTED"
        else:
            metadata = _DIDL.format(body=self._didl(track))
        if self.broken_metadata:
            metadata = metadata.replace("</item>", "<dc:title>cut off")
        return {
            "Track": str(track.queue_position),
            "TrackDuration": _hms(track.duration_s),
            "TrackMetaData": metadata,
            "TrackURI": track.uri,
            "RelTime": _hms(position) if track.duration_s else "0:00:00",
            "AbsTime": "NOT_IMPLEMENTED",
            "RelCount": "2147483647",
            "AbsCount": "2147483647",
        }

    @staticmethod
    def _didl(track: Track) -> str:
        res = f'<res protocolInfo="sonos.com-http:*:audio/mpeg:*" duration="{_hms(track.duration_s)}">'
        res += f"{escape(track.uri)}</res>"
        if not track.duration_s:  # radio: the song is only in the stream content
            return (
                f"{res}<r:streamContent>{escape(track.stream_content or '')}</r:streamContent>"
                f"<dc:title>{escape(track.title or '')}</dc:title><upnp:class>object.item</upnp:class>"
            )
        return (
            f"{res}<upnp:albumArtURI>/getaa?s=1&amp;u={escape(track.uri)}</upnp:albumArtURI>"
            f"<dc:title>{escape(track.title or '')}</dc:title><upnp:class>object.item.audioItem.musicTrack</upnp:class>"
            f"<dc:creator>{escape(track.artist or '')}</dc:creator><upnp:album>{escape(track.album or '')}</upnp:album>"
        )

    def _transport_info(self) -> dict[str, str]:
        state, _, track = self._coordinator().now()
        if track is None:
            state = "NO_MEDIA_PRESENT" if state == "STOPPED" else state
        return {"CurrentTransportState": state, "CurrentTransportStatus": "OK", "CurrentSpeed": "1"}

    def _media_info(self) -> dict[str, str]:
        _, _, track = self._coordinator().now()
        uri, metadata = "", ""
        if track is not None:
            uri = track.uri if not track.duration_s else f"x-rincon-queue:{self._coordinator().uid}#0"
            if track.station:
                metadata = _DIDL.format(
                    body=f"<dc:title>{escape(track.station)}</dc:title>"
                    "<upnp:class>object.item.audioItem.audioBroadcast</upnp:class>"
                )
        return {"NrTracks": "1", "MediaDuration": "NOT_IMPLEMENTED", "CurrentURI": uri, "CurrentURIMetaData": metadata,
                "NextURI": "", "NextURIMetaData": "", "PlayMedium": "NETWORK", "RecordMedium": "NOT_IMPLEMENTED",
                "WriteStatus": "NOT_IMPLEMENTED"}  # fmt: skip

    def _services(self) -> dict[str, str]:
        services = "".join(
            f'<Service Capabilities="2563" Id="{sid}" MaxMessagingChars="0" Name="{escape(name)}" '
            f'SecureUri="https://music.invalid/{sid}/smapi" Uri="https://music.invalid/{sid}/smapi" Version="1.1" '
            f'ContainerType="MService"><Policy Auth="DeviceLink" PollInterval="30"/></Service>'
            for sid, name in sorted(self.services.items())
        )
        descriptors = f'<?xml version="1.0"?><Services SchemaVersion="1">{services}</Services>'
        return {
            "AvailableServiceDescriptorList": descriptors[:60] if self.broken_service_list else descriptors,
            "AvailableServiceTypeList": ",".join(str(sid * 256 + 7) for sid in sorted(self.services)),
            "AvailableServiceListVersion": "RINCON_000E5800000001400:1234",
        }
