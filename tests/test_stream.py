"""The live stream recognizer without ROS: ordering by stamps, faults (bursts, silences, clock jumps,
duplicates), bounded memory, smoothing and hysteresis."""

from __future__ import annotations

import numpy as np
import pytest

from motion_text_node.data.cache import DatasetCache
from motion_text_node.errors import UserError
from motion_text_node.runtime.engine import MotionTextRuntime
from motion_text_node.runtime.stream import StreamConfig, StreamRecognizer
from motion_text_node.skeleton.frame import SkeletonFrame


@pytest.fixture(scope="module")
def runtime(tiny_model_dir):
    return MotionTextRuntime(tiny_model_dir, labels="walk, climb, dance", library=None)


@pytest.fixture(scope="module")
def walk(cmu_cache):
    return DatasetCache(cmu_cache).clip("12_01").motion.positions


def frame(pos, t, track="p", fmt="smpl22"):
    return SkeletonFrame(t, track, fmt, [], pos, None, "z")


def feed(rec, walk, t0=100.0, n=None, rate=30.0, track="p", arrival0=0.0):
    results = []
    for k in range(n or len(walk)):
        rec.add_frame(frame(walk[k % len(walk)], t0 + k / rate, track), arrival=arrival0 + k / rate)
        results += rec.run_due()
    return results


def test_labels_come_every_stride_once_enough_motion_is_buffered(runtime, walk) -> None:
    rec = StreamRecognizer(runtime, StreamConfig(stride_s=1 / 3))
    res = feed(rec, walk, n=90)
    assert len(res) >= 6
    gaps = np.diff([r.window_end for r in res])
    np.testing.assert_allclose(gaps, 10 / 30.0, atol=1e-6)
    assert all(r.window_end - r.window_start <= runtime.norm.window_frames / runtime.norm.fps + 1e-6 for r in res)
    assert all(r.top_labels[0] in ("walk", "climb", "dance") and len(r.top_labels) == 3 for r in res)


def test_add_frame_says_exactly_when_there_is_work(runtime, walk) -> None:
    """The node wakes its inference worker on add_frame's answer: it must never miss a due track, nor wake for
    nothing (two tracks interleaved, one at a different rate)."""
    rec = StreamRecognizer(runtime, StreamConfig(stride_s=1 / 3))
    wakes = results = 0
    for k in range(120):
        for track, rate in (("a", 30.0), ("b", 20.0)):
            due = rec.add_frame(frame(walk[k], 100.0 + k / rate, track), arrival=k / 30.0)
            got = rec.run_due()
            assert due == bool(got), (k, track)
            wakes += due
            results += len(got)
    assert wakes == results > 10


def test_out_of_order_frames_give_the_same_windows(runtime, walk) -> None:
    ordered = StreamRecognizer(runtime, StreamConfig(stride_s=100.0))
    shuffled = StreamRecognizer(runtime, StreamConfig(stride_s=100.0))
    stamps = 100.0 + np.arange(40) / 30.0
    order = np.arange(40)
    rng = np.random.default_rng(0)
    for i in range(0, 40, 4):  # shuffle inside blocks of 4 (network reordering)
        rng.shuffle(order[i:i + 4])
    for k in range(40):
        ordered.add_frame(frame(walk[k], stamps[k]), arrival=float(k))
        shuffled.add_frame(frame(walk[order[k]], stamps[order[k]]), arrival=float(k))
    assert shuffled.events["reordered"] > 0
    a, b = ordered.tracks["p"], shuffled.tracks["p"]
    assert a.times == b.times
    np.testing.assert_allclose(np.stack(a.positions), np.stack(b.positions))


def test_duplicates_late_frames_and_clock_jumps(runtime, walk) -> None:
    rec = StreamRecognizer(runtime)
    feed(rec, walk, n=60)
    n = len(rec.tracks["p"].times)
    rec.add_frame(frame(walk[0], 100.0 + 59 / 30.0))  # duplicate stamp
    assert rec.events["duplicate_stamp"] == 1 and len(rec.tracks["p"].times) == n
    rec.add_frame(frame(walk[0], 100.0 + 59 / 30.0 - 1.51))  # older than a window (1 s) but no clock jump: late
    assert rec.events["late_frame"] == 1
    rec.add_frame(frame(walk[0], 50.0))  # far in the past: the sender's clock jumped back
    assert rec.events["clock_jump_reset"] == 1 and rec.tracks["p"].times == [50.0]
    res = feed(rec, walk, t0=50.0 + 1 / 30.0, n=40)  # and labels resume on the new clock
    assert res and res[-1].window_end < 60.0


def test_bursts_and_long_streams_keep_memory_bounded(runtime, walk) -> None:
    rec = StreamRecognizer(runtime)
    feed(rec, walk, n=3000, rate=300.0)  # 10x the rate for 10 s
    tr = rec.tracks["p"]
    assert len(tr.times) <= rec.capacity and len(tr.positions) == len(tr.times)
    assert tr.times[-1] - tr.times[0] <= 2 * rec.window_s + 1e-6


def test_silent_tracks_are_dropped_and_tracks_stay_separate(runtime, walk) -> None:
    rec = StreamRecognizer(runtime, StreamConfig(track_timeout_s=1.0))
    for k in range(60):
        rec.add_frame(frame(walk[k], 100 + k / 30, "a"), arrival=k / 30)
        rec.add_frame(frame(walk[-k - 1], 100 + k / 30, "b"), arrival=k / 30)
    res = rec.run_due()
    assert {r.track_id for r in res} == {"a", "b"}
    assert rec.drop_silent(now=60 / 30 + 0.5) == []
    assert sorted(rec.drop_silent(now=60 / 30 + 1.5)) == ["a", "b"] and not rec.tracks


def test_bad_frames_are_rejected_with_a_reason(runtime) -> None:
    rec = StreamRecognizer(runtime, StreamConfig(max_tracks=1))
    good = np.zeros((22, 3), np.float32)
    good[:, 2] = np.linspace(0, 1.7, 22)
    for bad, reason in ((frame(np.full((22, 3), np.nan, np.float32), 1.0), "no finite"),
                        (frame(good[:5], 1.0), "22 joints"),
                        (frame(good, float("nan")), "stamp"),
                        (frame(good, 1.0, fmt="openpose"), "unknown skeleton format"),
                        (frame(np.full((22, 3), 1e4, np.float32), 1.0), "no joint maps")):
        with pytest.raises(UserError, match=reason):
            rec.add_frame(bad)
    rec.add_frame(frame(good, 1.0, track="a"))
    rec.add_frame(frame(good, 1.0, track="b"))  # a new person evicts the stalest track instead of being refused
    assert list(rec.tracks) == ["b"] and rec.events["track_evicted"] == 1


def test_hysteresis_keeps_the_label_until_another_clearly_wins(runtime) -> None:
    rec = StreamRecognizer(runtime, StreamConfig(smoothing=0.0, hysteresis=0.1, min_score=-1.0))
    tr = rec.tracks.setdefault("p", __import__("motion_text_node.runtime.stream", fromlist=["Track"]).Track())
    labels = runtime.labels.labels
    first = rec._decide("p", tr, np.array([0.5, 0.1, 0.0]), 0, 1, 0)
    assert first.label == labels[0]
    close = rec._decide("p", tr, np.array([0.45, 0.5, 0.0]), 0, 1, 0)
    assert close.label == labels[0]  # 0.5 does not beat 0.45 by 0.1
    clear = rec._decide("p", tr, np.array([0.2, 0.6, 0.0]), 0, 1, 0)
    assert clear.label == labels[1]
    rec.config.min_score = 0.9
    assert rec._decide("p", tr, np.array([0.2, 0.6, 0.0]), 0, 1, 0).label == ""


@pytest.fixture(scope="module")
def fp32_runtime(tiny_model_dir):
    return MotionTextRuntime(tiny_model_dir, labels="walk, climb, dance", library=None, precision="fp32")


def _crowd_rounds(runtime, walk, max_batch: int, people: int = 7, frames: int = 75) -> dict[str, list]:
    """A crowd fed frame by frame as one array message would deliver it (all people, then inference rounds until
    nothing is due): every track's labels and scores in window order, plus the round sizes."""
    rec = StreamRecognizer(runtime, StreamConfig(stride_s=1 / 3, max_batch=max_batch))
    out: dict[str, list] = {"rounds": []}
    for k in range(frames):
        for p in range(people):  # each person a different part of the walk, so windows differ
            rec.add_frame(frame(walk[(k + 11 * p) % len(walk)], 100.0 + k / 30, f"person_{p}"), arrival=k / 30)
        while rec.due_count():
            got = rec.run_due()
            out["rounds"].append(len(got))
            for r in got:
                out.setdefault(r.track_id, []).append((r.window_end, r.label, r.top_labels, r.top_scores))
    return out


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_batched_rounds_give_the_same_labels_as_one_window_at_a_time(precision, runtime, fp32_runtime,
                                                                     walk) -> None:
    """fp32: the same scores whatever the round size. int8: ONNX Runtime's dynamic quantization scales the
    activations of the whole batch at once, so a window's scores move a little with its batch mates (the README
    says so); the labels must not."""
    runtime = fp32_runtime if precision == "fp32" else runtime
    assert runtime.motion_encoder.precision == precision
    one = _crowd_rounds(runtime, walk, max_batch=1)
    batched = _crowd_rounds(runtime, walk, max_batch=64)
    capped = _crowd_rounds(runtime, walk, max_batch=3)
    assert set(one["rounds"]) == {1} and max(batched["rounds"]) == 7 and max(capped["rounds"]) == 3
    tracks = [k for k in one if k != "rounds"]
    assert len(tracks) == 7
    for other in (batched, capped):
        for tid in tracks:
            assert len(other[tid]) == len(one[tid]) >= 5, tid
            for (t_a, label_a, top_a, s_a), (t_b, label_b, top_b, s_b) in zip(one[tid], other[tid], strict=True):
                assert t_a == t_b and label_a == label_b and top_a == top_b
                np.testing.assert_allclose(s_a, s_b, atol=1e-5 if precision == "fp32" else 0.01)


def test_a_capped_round_serves_the_tracks_that_waited_longest_first(runtime, walk) -> None:
    """A round of 2 among 3 due tracks; then all 3 are due again: the one left out must be in the next round
    (a crowd larger than the round cannot starve anybody)."""
    rec = StreamRecognizer(runtime, StreamConfig(stride_s=1 / 3, max_batch=2))

    def feed_all(k0: int, k1: int) -> None:
        for k in range(k0, k1):
            for p in range(3):
                rec.add_frame(frame(walk[k], 100.0 + k / 30, f"p{p}"), arrival=k / 30)

    feed_all(0, 40)
    first = {r.track_id for r in rec.run_due()}
    assert len(first) == 2 and rec.due_count() == 1
    feed_all(40, 55)  # half a second more: the two served tracks are due again as well
    assert rec.due_count() == 3
    second = {r.track_id for r in rec.run_due()}
    assert len(second) == 2 and ({"p0", "p1", "p2"} - first) <= second


def _rounds_and_labels(runtime, walk, stagger: bool, people: int = 30, frames: int = 150):
    """People who all appear in the same frames (one array message per frame): the round sizes per frame after the
    first two strides, and each track's window ends."""
    rec = StreamRecognizer(runtime, StreamConfig(stride_s=1 / 3, stagger=stagger))
    sizes, ends = [], {}
    for k in range(frames):
        for p in range(people):
            rec.add_frame(frame(walk[(k + 5 * p) % len(walk)], 100.0 + k / 30, f"p{p}"), arrival=k / 30)
        got = []
        while rec.due_count():
            got += rec.run_due()
        if k >= 30:
            sizes.append(len(got))
        for r in got:
            ends.setdefault(r.track_id, []).append(r.window_end)
    return sizes, ends


def test_a_crowd_that_appears_in_one_frame_is_spread_over_the_stride(runtime, walk) -> None:
    """Without stagger 30 people fall due together every 10 frames (a round of 30, then nothing); with it a few
    per frame, each track still labelled every stride, its first label no later and none lost."""
    burst_sizes, burst_ends = _rounds_and_labels(runtime, walk, stagger=False)
    sizes, ends = _rounds_and_labels(runtime, walk, stagger=True)
    assert max(burst_sizes) == 30 and burst_sizes.count(0) >= 0.8 * len(burst_sizes)
    assert max(sizes) <= 5 and sum(sizes) >= sum(burst_sizes) - 30
    assert {t: e[0] for t, e in ends.items()} == {t: e[0] for t, e in burst_ends.items()}
    for track, e in ends.items():
        assert len(e) >= len(burst_ends[track]), track
        np.testing.assert_allclose(np.diff(e[1:]), 10 / 30.0, atol=1e-6)


def test_the_people_of_one_message_are_taken_as_each_would_be_alone(runtime, walk) -> None:
    """add_frames canonicalizes skeletons of one layout as one array: every person must be buffered (positions,
    valid joints) or rejected (same reason) exactly as add_frame does it alone, whatever the others are."""
    rng = np.random.default_rng(0)
    frames = []
    for p in range(12):
        pos = walk[10 * p].copy()
        conf = None
        if p % 3 == 1:
            pos[rng.choice(22, 5, replace=False)] = np.nan  # missing joints: imputed from neighbours
        if p % 4 == 2:
            conf = rng.random(22).astype(np.float32)
            conf[:3] = 0.0  # unconfident joints are missing
        if p == 5:
            pos[:19] = np.nan  # 3 usable joints: rejected
        if p == 7:
            pos[:] = np.nan  # nothing finite: rejected
        if p == 9:
            pos[4] = 1e6  # a glitching joint
        frames.append(SkeletonFrame(100.0, f"p{p}", "smpl22", [], pos, conf, "z"))
    frames.append(SkeletonFrame(float("nan"), "bad_stamp", "smpl22", [], walk[0], None, "z"))
    coco = np.asarray(walk[0][:17])
    frames += [SkeletonFrame(100.0, f"c{i}", "coco17", [], coco + i, None, "z") for i in range(2)]
    together = StreamRecognizer(runtime)
    _, rejected = together.add_frames(frames)
    alone = StreamRecognizer(runtime)
    reasons = {}
    for f in frames:
        try:
            alone.add_frame(f)
        except UserError as exc:
            reasons[f.track_id] = str(exc)
    assert {f.track_id: r for f, r in rejected} == reasons and set(reasons) == {"p5", "p7", "bad_stamp"}
    assert set(together.tracks) == set(alone.tracks) == {f.track_id for f in frames} - set(reasons)
    for tid, track in alone.tracks.items():
        np.testing.assert_array_equal(np.array(together.tracks[tid].positions), np.array(track.positions))
        np.testing.assert_array_equal(np.array(together.tracks[tid].valid), np.array(track.valid))


def test_every_round_is_timed_stage_by_stage(runtime, walk) -> None:
    """The instrumentation the diagnostics and the benchmark read: one entry per round in every stage, adding up
    to the round's inference time."""
    rec = StreamRecognizer(runtime, StreamConfig(stride_s=1 / 3))
    res = feed(rec, walk, n=60)
    rounds = len(rec.latencies_ms)
    assert rounds == len(res) >= 4
    assert all(len(v) == rounds and min(v) >= 0.0 for v in rec.stage_ms.values())
    inference = [sum(rec.stage_ms[s][i] for s in ("resample", "features", "encoder", "decide")) for i in range(rounds)]
    np.testing.assert_allclose(inference, list(rec.latencies_ms), rtol=1e-6)
    assert min(rec.stage_ms["encoder"]) > 0.0 and min(rec.stage_ms["features"]) > 0.0
