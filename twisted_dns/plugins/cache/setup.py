"""``cache [TTL] [ZONES...] { success|denial|prefetch|serve_stale|servfail|disable|keepttl }``.

Parsed as CoreDNS's ``cacheParse`` (``plugin/cache/setup.go``), with its error texts.
"""

from __future__ import annotations

from twisted_dns.config import Controller
from twisted_dns.names import normalize
from twisted_dns.pkg.durations import MINUTE, Duration, parse_duration
from twisted_dns.plugins.cache import metrics
from twisted_dns.plugins.cache.cache import Cache, Config
from twisted_dns.plugins.cache.storage import DENIAL, SUCCESS

_MAX_SERVFAIL = 5 * MINUTE


def _atoi(c: Controller, text: str) -> int:
    """Go's ``strconv.Atoi``, with its error text."""
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdigit() or not digits.isascii():
        raise c.err(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _duration(c: Controller, text: str) -> Duration:
    """A Go duration; Go's error text when it does not parse."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise c.err(str(exc)) from None


def _capacity_ttls(c: Controller, args: list[str]) -> tuple[int, int | None, int | None]:
    """``CAPACITY [TTL] [MINTTL]`` of a ``success`` or ``denial`` line."""
    if not args:
        raise c.arg_err()
    capacity = _atoi(c, args[0])
    ttl = min_ttl = None
    if len(args) > 1:
        ttl = _atoi(c, args[1])
        if ttl <= 0:
            raise c.err(f"cache TTL can not be zero or negative: {ttl}")
        if len(args) > 2:
            min_ttl = _atoi(c, args[2])
            if min_ttl < 0:
                raise c.err(f"cache min TTL can not be negative: {min_ttl}")
    return capacity, ttl, min_ttl


def parse(c: Controller) -> Config:
    """The directive's one occurrence in the block, as a :class:`Config`."""
    config: Config | None = None
    while c.once():
        config = Config()
        args = c.remaining_args()
        if args and (args[0].lstrip("+-").isdigit()):
            ttl = _atoi(c, args[0])
            if ttl <= 0:
                raise c.err(f"cache TTL can not be zero or negative: {ttl}")
            config.success_ttl = config.denial_ttl = ttl
            args = args[1:]
        config.zones = [normalize(arg) for arg in args] if args else list(c.zones or ["."])
        while c.next_block():
            _option(c, config, c.val())
    assert config is not None  # the controller only runs for a directive that is there
    return config


def _option(c: Controller, config: Config, option: str) -> None:
    """One line of the block."""
    args = c.remaining_args()
    if option == SUCCESS:
        config.success_capacity, ttl, min_ttl = _capacity_ttls(c, args)
        if ttl is not None:
            config.success_ttl = ttl
        if min_ttl is not None:
            config.success_min_ttl = min_ttl
    elif option == DENIAL:
        config.denial_capacity, ttl, min_ttl = _capacity_ttls(c, args)
        if ttl is not None:
            config.denial_ttl = ttl
        if min_ttl is not None:
            config.denial_min_ttl = min_ttl
    elif option == "prefetch":
        if not args or len(args) > 3:
            raise c.arg_err()
        amount = _atoi(c, args[0])
        if amount < 0:
            raise c.err(f"prefetch amount should be positive: {amount}")
        config.prefetch = amount
        if len(args) > 1:
            config.prefetch_window = _duration(c, args[1]).seconds
        if len(args) > 2:
            pct = args[2]
            if not pct.endswith("%"):
                raise c.err(f"last character of percentage should be `%`, but is: '{pct[-1:]}'")
            num = _atoi(c, pct[:-1])
            if not 10 <= num <= 90:
                raise c.err(f"percentage should fall in range [10, 90]: {num}")
            config.prefetch_percentage = num
    elif option == "serve_stale":
        if len(args) > 2:
            raise c.arg_err()
        config.stale_up_to = 3600.0
        if args:
            stale = _duration(c, args[0]).seconds
            if stale < 0:
                raise c.err("invalid negative duration for serve_stale")
            config.stale_up_to = stale
        config.verify_stale = False
        if len(args) > 1:
            mode = args[1].lower()
            if mode not in ("immediate", "verify"):
                raise c.err(f"invalid value for serve_stale refresh mode: {mode}")
            config.verify_stale = mode == "verify"
    elif option == "servfail":
        if len(args) != 1:
            raise c.arg_err()
        duration = _duration(c, args[0])
        if duration < 0:
            raise c.err("invalid negative ttl for servfail")
        if duration > _MAX_SERVFAIL:
            raise c.err("caching SERVFAIL responses over 5 minutes is not permitted")
        config.servfail_ttl = duration.seconds
    elif option == "disable":
        if not args:
            raise c.arg_err()
        zones = [normalize(zone) for zone in args[1:]] or ["."]
        if args[0] == DENIAL:
            config.denial_except = zones
        elif args[0] == SUCCESS:
            config.success_except = zones
        else:
            raise c.err(f'cache type for disable must be "{SUCCESS}" or "{DENIAL}"')
    elif option == "keepttl":
        if args:
            raise c.arg_err()
        config.keepttl = True
    else:
        raise c.arg_err()


def setup(c: Controller) -> None:
    config = parse(c)
    reactor = c.reactor
    block = c.config
    exported = metrics.collector()
    made: list[Cache] = []

    def make(next_plugin) -> Cache:
        cache = Cache(next_plugin, config, reactor)
        exported.add(cache, block)
        made.append(cache)
        return cache

    def retire() -> None:
        for cache in made:
            exported.retire(cache)

    c.add_plugin(make)
    c.on_shutdown(retire)
