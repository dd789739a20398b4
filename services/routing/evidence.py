"""The router's evidence as events: decisions, children, fills and parent outcomes.

Pure translation of the core's values (:class:`RoutingDecision`, :class:`ExecutionReport`)
into the ``routing.decisions`` / ``routing.executions`` schemas of :mod:`nexus.events`. Every
event id is deterministic - the decision id, ``<child_id>:end``, the venue's fill id,
``<order_id>:parent`` - so storing or publishing the same outcome twice has one effect.
Each child and fill carries the NBBO the decision saw and the NBBO at its execution, which is
what SEC Rule 606/605 style reports are built from.
"""

from __future__ import annotations

from nexus.events import (
    ChildExecuted,
    NbboAt,
    ParentExecuted,
    RoutedChild,
    RoutedFill,
    RoutingAlternative,
    RoutingDecisionEvent,
)
from services.routing.core import ExecutionReport, NbboSnapshot, RoutingDecision

MAX_ALTERNATIVES = 64


def nbbo_at(snapshot: NbboSnapshot | None) -> NbboAt:
    """The event form of an NBBO snapshot (empty when None)."""
    if snapshot is None:
        return NbboAt()
    return NbboAt(
        bid_price=snapshot.bid_price,
        bid_size=snapshot.bid_size,
        bid_venues=list(snapshot.bid_venues),
        ask_price=snapshot.ask_price,
        ask_size=snapshot.ask_size,
        ask_venues=list(snapshot.ask_venues),
        state=snapshot.state,
        ts_event=snapshot.ts_event,
    )


def decision_event(decision: RoutingDecision) -> RoutingDecisionEvent:
    """``routing.decisions`` event of a decision."""
    return RoutingDecisionEvent(
        event_id=decision.decision_id,
        ts_event=decision.ts_event,
        symbol=decision.symbol,
        order_id=decision.order_id,
        user_id=decision.user_id,
        side=decision.side,
        quantity=decision.quantity,
        limit_price=decision.limit_price,
        strategy=str(decision.strategy),
        round=decision.round,
        children=[
            RoutedChild(
                venue=c.venue_id,
                quantity=c.quantity,
                limit_price=c.limit_price,
                kind=c.kind,
                iso=c.iso,
            )
            for c in decision.children
        ],
        alternatives=[
            RoutingAlternative(
                venue=a.venue_id,
                rank=a.rank,
                score=a.score if a.score == a.score and abs(a.score) < 1e300 else 1e300,
                price=max(a.price, 0),
                available=max(a.available, 0),
                chosen=a.chosen,
                reason=a.reason[:512],
            )
            for a in decision.alternatives[:MAX_ALTERNATIVES]
        ],
        rationale=decision.rationale[:4096],
        rule_set=decision.rule_set[:64] or "unknown",
        rule_set_effective=decision.rule_set_effective[:32],
        protection=decision.protection[:64],
        protection_exceptions=[
            f"{e.kind} {e.venue_id} {e.price} x {e.quantity}: {e.detail}"[:512]
            for e in decision.protection_exceptions
        ],
        nbbo=nbbo_at(decision.nbbo),
    )


def execution_events(report: ExecutionReport) -> list[ChildExecuted | RoutedFill | ParentExecuted]:
    """``routing.executions`` events of a parent's outcome: each child, each fill, the parent."""
    decisions = {d.round: d for d in report.decisions}
    first = report.decisions[0] if report.decisions else None
    events: list[ChildExecuted | RoutedFill | ParentExecuted] = []
    for execution in report.children:
        child = execution.order
        decision = decisions.get(execution.round, first)
        at_decision = nbbo_at(decision.nbbo if decision else None)
        at_execution = nbbo_at(execution.nbbo_at_execution)
        final = execution.report
        events.append(
            ChildExecuted(
                event_id=f"{child.child_id}:end",
                ts_event=execution.done_ns,
                symbol=child.symbol,
                order_id=report.order_id,
                child_id=child.child_id,
                decision_id=decision.decision_id if decision else f"{report.order_id}:none",
                user_id=report.user_id,
                venue=child.venue_id,
                side=child.side,
                quantity=child.quantity,
                limit_price=child.limit_price,
                iso=child.iso,
                time_in_force=child.time_in_force,
                round=execution.round,
                status=str(final.status),  # type: ignore[arg-type]
                filled_quantity=final.filled_quantity,
                leaves_quantity=final.leaves_quantity,
                reason=final.reason[:512],
                sent_ns=execution.sent_ns,
                done_ns=execution.done_ns,
                timed_out=execution.timed_out,
                nbbo_at_decision=at_decision,
                nbbo_at_execution=at_execution,
            )
        )
        for fill in final.fills:
            events.append(
                RoutedFill(
                    event_id=fill.fill_id,
                    ts_event=fill.ts_event or execution.done_ns,
                    symbol=child.symbol,
                    order_id=report.order_id,
                    child_id=child.child_id,
                    user_id=report.user_id,
                    venue=fill.venue_id,
                    side=child.side,
                    price=fill.price,
                    quantity=fill.quantity,
                    fee=fill.fee,
                    liquidity=fill.liquidity,
                    iso=child.iso,
                    nbbo_at_decision=at_decision,
                    nbbo_at_execution=at_execution,
                )
            )
    events.append(parent_event(report))
    return events


def parent_event(report: ExecutionReport) -> ParentExecuted:
    """The parent's outcome."""
    return ParentExecuted(
        event_id=f"{report.order_id}:parent",
        ts_event=report.ts_end,
        symbol=report.symbol,
        order_id=report.order_id,
        user_id=report.user_id,
        side=report.side,
        strategy=str(report.strategy),
        quantity=report.quantity,
        limit_price=report.limit_price,
        status=report.status,
        filled_quantity=report.filled_quantity,
        leaves_quantity=report.leaves_quantity,
        in_doubt_quantity=report.in_doubt_quantity,
        average_price=report.average_price,
        fees=report.fees,
        children=len(report.children),
        ts_start=report.ts_start,
    )


def refused_event(
    order_id: str,
    user_id: str,
    symbol: str,
    side: str,
    strategy: str,
    quantity: int,
    limit_price: int,
    reason: str,
    ts: int,
) -> ParentExecuted:
    """A parent refused before any venue was touched (a halt)."""
    return ParentExecuted(
        event_id=f"{order_id}:parent",
        ts_event=ts,
        symbol=symbol,
        order_id=order_id,
        user_id=user_id,
        side=side,  # type: ignore[arg-type]
        strategy=strategy,
        quantity=quantity,
        limit_price=limit_price,
        status="REFUSED",
        leaves_quantity=quantity,
        reason=reason[:512],
        ts_start=ts,
    )
