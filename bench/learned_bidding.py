"""The learned bid policy against the engine's own (linear) bidder, at equal budget.

    python bench/learned_bidding.py --episodes 20 --train-requests 20000 --seeds 100,101

Trains :class:`adcore.sim.bidder.QBidder` through ``AdMarketEnv`` on days of the
``steady`` scenario (``--train-requests`` requests each, 24 steps), then runs the
``agents`` arm and the same agents plus the learned policy
(:class:`adcore.agents.QBiddingAgent`, greedy) on held-out full days (seeds never used
in training), and prints clicks by human listeners, display CTR, delivery, advertiser
value and relevance side by side. The issue's bar is +10 % clicks at equal delivery.
Not part of the test suite: a few minutes on one core.
"""

from __future__ import annotations

import argparse
import time

from adcore.agents import default_agents
from adcore.sim import SCENARIOS, Market, run_arm
from adcore.sim.arms import Arm
from adcore.sim.bidder import QBidder
from adcore.sim.env import AdMarketEnv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="steady")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--train-requests", type=int, default=20_000)
    parser.add_argument("--seeds", default="100,101", help="held-out days to compare on")
    args = parser.parse_args()
    sc = SCENARIOS[args.scenario]
    start = time.perf_counter()
    env = AdMarketEnv(sc, requests=args.train_requests, steps_per_day=24, seed=0)
    bidder = QBidder(hours=6, alpha=0.1, gamma=0.9, epsilon=0.2, seed=1)
    returns = bidder.train(env, args.episodes)
    print(f"trained {args.episodes} days in {time.perf_counter() - start:.0f} s; returns:")
    print("  " + " ".join(f"{r:.1f}" for r in returns))
    print(f"greedy multiplier per state: {[bidder.multipliers[a] for a in bidder.model.policy()]}")
    arms = (
        Arm("agents", default_agents),
        Arm("learned bids", lambda: [*default_agents(), bidder.agent(plan=sc.diurnal)]),
    )
    print("| seed | arm | human clicks | CTR (display) | delivery | value | relevance |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for seed in (int(s) for s in args.seeds.split(",")):
        market = Market(sc, seed)
        for arm in arms:
            run = run_arm(market, arm)
            m = run.metrics
            print(
                f"| {seed} | {arm.name} | {run.counts['human_clicks']:.0f} | "
                f"{m['ctr_human']:.4f} | {m['delivery']:.4f} | {m['advertiser_value']:.1f} | "
                f"{m['relevance']:.4f} |"
            )


if __name__ == "__main__":
    main()
