"""Writes that count as taken only once replicas have them too: MULTI/EXEC, then WAIT.

Redis replicates asynchronously, so a primary can acknowledge a write and fail before
any replica has it; the replica promoted in its place (by Sentinel, or by a Cluster
itself) then never had it. For an invalidation that would bring an old grant back, so
with Sentinel, and on a Cluster with REDIS_WAIT_REPLICAS above 0, an invalidation is
sent with `transaction_then_wait`, and one that too few replicas acknowledged raises:
its OwedInvalidation row stays, to be paid again (apps/core/state/invalidation.py).
"""

from typing import Any

from redis.exceptions import RedisError, ResponseError


def transaction_then_wait(
    redis: Any, commands: list[tuple[Any, ...]], *, replicas: int, timeout_ms: int
) -> None:
    """MULTI, `commands`, EXEC, then WAIT on the same connection (WAIT counts the
    replicas that have this connection's writes), in one round trip. Raises RedisError
    if a command failed or fewer than `replicas` acknowledged within `timeout_ms`."""
    pool = redis.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_packed_command(
            conn.pack_commands([("MULTI",), *commands, ("EXEC",), ("WAIT", replicas, timeout_ms)])
        )
        replies = [conn.read_response() for _ in range(len(commands) + 3)]
    except BaseException:
        conn.disconnect()  # a reply may be left unread: never reuse this socket
        raise
    finally:
        pool.release(conn)
    executed, acknowledged = replies[-2], replies[-1]
    failed = [reply for reply in executed or [] if isinstance(reply, Exception)]
    if executed is None or failed:
        raise failed[0] if failed else ResponseError("EXEC was aborted")
    if int(acknowledged) < replicas:
        raise RedisError(
            f"WAIT: {acknowledged} of {replicas} replica(s) acknowledged the invalidation "
            f"within {timeout_ms} ms (REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT); it stays owed."
        )
