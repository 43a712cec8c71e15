"""``python -m linksim``: run scenarios, validate them, list plug-ins, benchmark.

Exit status: 0 success, 1 sweep points that failed on Ray after their
retries (listed by name; every other point is on disk), 2 invalid input (one
line on stderr, no traceback; also ``--ray`` without Ray installed), 130
interrupted (every finished sweep point or training epoch is already on
disk). ``train`` also exits 0 when the run ended on a NaN loss: that is a
result (``status: "nan"`` in ``state.json``, one line on stdout), not a crash.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

EPILOG = """examples:
  python -m linksim run scenarios/umi_4x4.yaml            # results in runs/umi_4x4/
  python -m linksim run scenarios/seed003/fig7_bler.yaml --out results/fig7_bler
  python -m linksim run scenarios/umi_4x4.yaml --quick    # smoke test, < 1 min, runs/umi_4x4/quick/
  python -m linksim run scenarios/seed003/fig7_bler.yaml --ray          # points as Ray tasks, local Ray
  RAY_ADDRESS=10.0.0.1:6379 python -m linksim run FILE --ray            # ... on a running cluster
  python -m linksim --verbose validate scenarios/umi_4x4.yaml   # with TensorFlow's start-up lines
  python -m linksim validate scenarios/*.yaml scenarios/*/*.yaml
  python -m linksim list                                  # registered plug-ins
  python -m linksim stats scenarios/umi_4x4.yaml --fft-sizes 32 128
  python -m linksim bench                                 # throughput benchmarks
  python -m linksim train scenarios/umi_4x4.yaml --model full --time-budget 60
  python -m linksim train-report runs/umi_4x4/train_* --out results/fig10_training
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="linksim",
        description="Link-level simulation of semantic and classical communication over "
                    "3GPP 38.901 multi-user MIMO OFDM (Sionna 1.2 / TensorFlow).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--verbose", action="store_true", default=False, help=_VERBOSE_HELP)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run", help="run every experiment a scenario file lists",
        description="Run every experiment listed in a scenario YAML. Each finished sweep point "
                    "is appended to <out>/<experiment>.csv at once; re-running the same command "
                    "skips finished points (resume). Writes CSV, JSON (config, seeds, versions, "
                    "wall time) and PNG per experiment, then prints a summary table: per "
                    "experiment its kind, the files written, one headline number and the wall "
                    "time.")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, default=None,
                     help="output directory (default: runs/<scenario name>, with --quick "
                          "runs/<scenario name>/quick)")
    run.add_argument("--quick", action="store_true",
                     help="small smoke-test version (one curve, 3 points, tiny batches; < 60 s); "
                          "written to --out if given, else to runs/<scenario name>/quick")
    run.add_argument("--only", metavar="NAME", action="append",
                     help="run only the experiment(s) with this name (repeatable)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars")
    run.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                     help="run every sweep point as a Ray task (docs/ray.md): without ADDRESS on "
                          "$RAY_ADDRESS if set, else on a local Ray instance sized to the machine; "
                          "with ADDRESS (e.g. 10.0.0.1:6379, auto) on that cluster. Same rows, "
                          "same resume; needs pip install -e \".[ray]\"")
    run.add_argument("--ray-workers", type=int, default=None, metavar="N",
                     help="with --ray: points in flight, one Ray actor each (default: the "
                          "cluster's CPUs)")

    val = sub.add_parser("validate", help="check scenario files without running them",
                         description="Parse and validate scenario files, including every sweep "
                                     "combination. Exit 2 with one line per bad file.")
    val.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML file(s)")

    sub.add_parser("list", help="list the registered plug-ins (channels, precoders, ...)",
                   description="List every registry key a scenario file may use.")

    stats = sub.add_parser(
        "stats", help="measure channel statistics (LoS share, delay spread, K-factor, ZF gain)",
        description="Measure what the channel models of a scenario produce over many random "
                    "drops: LoS and indoor shares, RMS delay spread, K-factor, frequency "
                    "selectivity, condition number and per-user ZF gain of the MU-MIMO channel, "
                    "and at each --snr-db the spread over a slot of every user's effective gain "
                    "under RZF (what a UE would have to equalise) and its SINR. "
                    "Writes channel_stats.csv/.json.")
    stats.add_argument("scenario", type=Path, help="scenario YAML file (arrays, grid, carrier)")
    stats.add_argument("--models", nargs="+", default=["umi", "uma", "rma"],
                       help="channel models to measure (default: umi uma rma)")
    stats.add_argument("--fft-sizes", nargs="+", type=int, default=None,
                       help="grid widths N_f (default: the scenario's)")
    stats.add_argument("--drops", type=int, default=2000, help="slots (drops) per model")
    stats.add_argument("--snr-db", nargs="+", type=float, default=[-7.0, 7.0],
                       help="SNRs (1/N0 per RE) of the RZF statistics (default: -7 7)")
    stats.add_argument("--out", type=Path, default=Path("results/channel_stats"),
                       help="output directory")

    report = sub.add_parser(
        "report", help="markdown tables from the result CSVs of a directory",
        description="Write <DIR>/report.md: for BLER results the Eb/N0 at BLER 0.1 (with 95 %% "
                    "intervals) per configuration; for SSCC results mean PSNR vs SNR per scheme, "
                    "the best MCS per SNR and failure rates.")
    report.add_argument("result_dir", type=Path, help="a directory written by 'linksim run'")

    bench = sub.add_parser(
        "bench", help="throughput benchmarks and Table III complexity (writes results/bench/)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Benchmarks in parts (all by default; --only picks some):\n"
                    "  link        linksim's BLER pipeline against a minimal hand-written Sionna\n"
                    "              chain doing the same work, in the same process (coded bits/s\n"
                    "              and their ratio; target >= 0.9) -> bler_pipeline.csv\n"
                    "  sscc        the SSCC image pipeline end to end, images/s per codec\n"
                    "              -> sscc_pipeline.csv\n"
                    "  train       semantic training throughput at N_f = 32 (encoder, precoder,\n"
                    "              channel, decoder, backward): full at encoder widths 1.0 and\n"
                    "              0.5 (decoder 1.5) and djscc; target >= 200 images/s\n"
                    "              -> train_pipeline.csv\n"
                    "  systems     training images/s of every learned system that has a\n"
                    "              benchmark (seed 000 JSCBF, ...), each at its reference\n"
                    "              scenario, and the CIFAR-10 epoch it implies -> systems_train.csv\n"
                    "  ray         sweep points per hour of one small BLER sweep: this process vs\n"
                    "              Ray with 1 and 2 workers on a local Ray instance (ratio to one\n"
                    "              process; target >= 0.9 with 1 worker) -> ray_scaling.csv/.json\n"
                    "  complexity  seed 003 Table III: parameters, weight memory (MB) and median\n"
                    "              CPU inference time per batch of 64 slots (256 images) for the\n"
                    "              encoder, precoder and decoder of full, no_pilot, rzf and djscc\n"
                    "              at encoder/decoder widths 1.0/1.5 (the paper's sizes) and\n"
                    "              0.5/1.5 (our scenarios'), N_f = 32 and 128\n"
                    "              -> complexity.csv/.json/.png\n"
                    "link, sscc, train and systems also update bench.json (other parts' entries are kept).\n"
                    "TensorFlow's oneDNN kernels are switched on (TF_ENABLE_ONEDNN_OPTS=1) unless\n"
                    "the environment sets the variable.\n\n"
                    "example:\n"
                    "  python -m linksim bench --only complexity --out results/table3_complexity")
    bench.add_argument("--out", type=Path, default=Path("results/bench"), help="output directory")
    bench.add_argument("--batches", type=int, default=20,
                       help="timed batches per measurement (link, complexity) or timed training "
                            "steps per configuration (train); default 20")
    bench.add_argument("--only", nargs="+", action="extend", metavar="PART",
                       choices=("link", "sscc", "train", "systems", "ray", "complexity"),
                       help="run only these parts: link, sscc, train, systems, ray, complexity "
                            "(repeatable; "
                            "default: all)")

    train = sub.add_parser(
        "train", help="train a semantic model variant (checkpoints, resume, NaN stop)",
        description="Train the scenario's semantic system (its 'semantic' section) through the "
                    "channel. Every epoch writes <out>/last.keras (model + optimizer), "
                    "last/best .weights.h5, state.json, history.csv and loss_curve.png; "
                    "re-running with the same --out resumes at the next epoch (on the same "
                    "settings and images only: set LINKSIM_DATA as when it started). A NaN loss stops "
                    "the run with the last good checkpoint kept and status 'nan' (exit 0). "
                    "Early stopping on the validation loss (semantic.patience).")
    train.add_argument("scenario", type=Path, help="scenario YAML file")
    train.add_argument("--model", default=None,
                       help="variant of the scenario's system (seed 003: full, no_pilot, rzf, "
                            "djscc, zf; seed 000: jscbf, model_driven, djscc; 'linksim list' "
                            "shows all); default: semantic.model")
    train.add_argument("--out", type=Path, default=None,
                       help="output directory (default: runs/<scenario name>/train_<model>)")
    train.add_argument("--epochs", type=int, default=None,
                       help="total epochs, resumed ones included (default: semantic.epochs); "
                            "for a system trained in stages, those of the end-to-end stage "
                            "(a pre-training stage keeps its own count)")
    train.add_argument("--time-budget", type=float, default=None, metavar="MIN",
                       help="stop after MIN minutes of training (checkpoint kept; resume later)")
    train.add_argument("--batch-size", type=int, default=None, metavar="B",
                       help="slots per batch, num_users images each (default: semantic.batch_size); "
                            "a resumed run may change it")
    train.add_argument("--init-from", type=Path, default=None, metavar="DIR",
                       help="start a new run from the weights in DIR (a 'linksim train' output "
                            "or a models/ folder) with a fresh optimizer: continue a committed "
                            "model in another session, or fine-tune it on another channel; the "
                            "architecture must match, except that semantic.decoder_blocks may be "
                            "larger (new blocks start as identities) and semantic.encoder_width "
                            "or decoder_width twice the source's (every channel duplicated), or "
                            "semantic.pixel_path true where the source's was false: the "
                            "model is grown and starts computing what the source did; or "
                            "ofdm.fft_size a multiple of the source's (conv latent; nothing else "
                            "changed): the model starts sending every latent value k times")
    train.add_argument("--quick", action="store_true",
                       help="smoke test: narrow model, 64 images, 2 epochs; written to <out>/quick")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    report_t = sub.add_parser(
        "train-report", help="training runs side by side: loss per step, val PSNR (Fig. 10)",
        description="Summarise directories written by 'linksim train' into training.csv "
                    "(one row per run and epoch), training.json (final state of each run: "
                    "epochs, wall time, status, where a NaN appeared) and training.png "
                    "(running loss per step, a red cross where a run's loss became NaN; "
                    "validation PSNR per epoch). Nothing is retrained.")
    report_t.add_argument("run_dirs", type=Path, nargs="+", help="'linksim train' output directories")
    report_t.add_argument("--out", type=Path, default=Path("results/fig10_training"),
                          help="output directory (default: results/fig10_training)")
    for cmd in sub.choices.values():  # --verbose also after the command's name
        cmd.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                         help=_VERBOSE_HELP)
    return p


_VERBOSE_HELP = ("show TensorFlow's start-up lines (CUDA, absl, CPU features) and library "
                 "warnings, hidden by default")

_LIBRARIES = r"(tensorflow|tf_keras|keras|sionna|absl|jax|h5py)(\.|$)"


def quiet_libraries(verbose: bool = False) -> None:
    """Hide TensorFlow's logging and library warnings (``verbose``: leave everything as it is).

    Call before TensorFlow is imported: ``TF_CPP_MIN_LOG_LEVEL=3`` must be in
    the environment when its C++ runtime starts. Lines that runtime prints
    before absl logging is initialised ("All log messages before
    absl::InitializeLog()", "cudart_stub.cc: Could not find cuda drivers")
    ignore every environment variable; :func:`_silenced_native_stderr` catches
    those during the import. Python warnings raised inside TensorFlow, Keras or
    Sionna are ignored; among them Keras 3.15's ``convert_to_numpy`` calling
    ``np.array(x)`` on a TF EagerTensor (model.save, weights), whose
    ``__array__`` lacks NumPy 2's ``copy`` keyword (a DeprecationWarning per
    call, not linksim's code). linksim's own warnings (skipped images, the
    data fallback) are kept.
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", module=_LIBRARIES)
    warnings.filterwarnings("ignore", message=r"__array__ implementation doesn't accept a copy",
                            category=DeprecationWarning)


@contextlib.contextmanager
def _silenced_native_stderr(verbose: bool = False) -> Iterator[None]:
    """Send file descriptor 2 to a temporary file meanwhile; replay it if the block raises.

    TensorFlow's C++ start-up lines bypass Python's ``sys.stderr``, so only
    the descriptor can catch them. On success they are dropped (and the
    Python loggers of TensorFlow and absl set to errors only); on an exception
    (a broken install) everything printed is shown, nothing is hidden.
    """
    if verbose:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    ok = False
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
            ok = True
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if not ok:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))
    import logging

    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)


def _load_plugins(verbose: bool = False) -> None:
    """:func:`linksim.plugins.load_all` (imports TensorFlow, Keras, Sionna) without their start-up noise."""
    quiet_libraries(verbose)
    import linksim.plugins

    with _silenced_native_stderr(verbose):
        linksim.plugins.load_all()


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> str:
    """Warnings (skipped images, data fallback) as one readable line, without source code."""
    return f"warning: {message}\n"


def _terminate(signum, frame) -> None:
    """SIGTERM (``kill``, a scheduler's stop) ends work the way Ctrl-C does: finished work kept."""
    raise KeyboardInterrupt


def script_main(run: Callable[[], None]) -> None:
    """Entry point of a ``scripts/`` tool: ``run()``, a ConfigError ending as ``linksim``'s do.

    One line, ``error: ...`` on stderr, exit 2, so the scripts beside the CLI
    treat bad input the way the CLI does.
    """
    _load_plugins(verbose="--verbose" in sys.argv[1:])
    from linksim.config import ConfigError

    try:
        run()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _one_line_warning
    args = _parser().parse_args(argv)
    if args.command in ("train", "bench"):  # before TF is imported; 2x faster CPU convolutions
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    signal.signal(signal.SIGTERM, _terminate)
    _load_plugins(args.verbose)  # the registries the scenario is validated against
    from linksim.config import ConfigError
    from linksim.experiments.ray_executor import ClusterLost
    try:
        return _COMMANDS[args.command](args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ClusterLost as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: every finished point is saved; run the same command to resume",
              file=sys.stderr)
        return 130


def _run(args) -> int:
    from tqdm import tqdm

    from linksim.config import ConfigError, load_scenario
    from linksim.experiments import EXPERIMENTS, quick_version
    from linksim.experiments.engine import PointsFailed

    scenario = load_scenario(args.scenario)
    out = args.out or Path("runs") / scenario.name / ("quick" if args.quick else "")
    if args.quick:
        scenario = quick_version(scenario)
    exps = scenario.experiments
    if args.only:
        unknown = set(args.only) - {e.name for e in exps}
        if unknown:
            raise ConfigError(f"--only {sorted(unknown)[0]!r}: no such experiment in "
                              f"{args.scenario}; it has: {', '.join(e.name for e in exps)}")
        exps = [e for e in exps if e.name in args.only]
    if not exps:
        raise ConfigError(f"{args.scenario}: experiments: the file lists no experiment to run")
    progress = None if args.no_progress else tqdm
    summary, failed = [], []
    with _executor(args) as executor:
        for exp in exps:
            start = time.perf_counter()
            try:
                files = existing_files(EXPERIMENTS[exp.kind](scenario, exp, out, progress, executor))
            except PointsFailed as err:
                failed += [f"{exp.name}: {p.label or p.key}: {e}" for p, e in err.failures]
                continue
            wall = time.perf_counter() - start
            print(f"{exp.name} written: " + ", ".join(str(f) for f in files))
            summary.append({"experiment": exp.name, "kind": exp.kind, "files": files,
                            "headline": headline(exp.kind, out / f"{exp.name}.csv"), "wall_s": wall})
    if summary:
        print(summary_table(summary, out))
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    if failed:
        print(f"error: {len(failed)} point(s) failed after retries; every other point is saved, "
              "run the same command to retry them", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _executor(args):
    """The sweep executor ``run`` asked for: this process, or Ray (``--ray``) closed at the end."""
    from linksim.config import ConfigError

    if args.ray is None:
        if args.ray_workers is not None:
            raise ConfigError("--ray-workers: only with --ray")
        yield None
        return
    if args.ray_workers is not None and args.ray_workers < 1:
        raise ConfigError(f"--ray-workers: {args.ray_workers} -- must be at least 1")
    from linksim.experiments.ray_executor import RayExecutor, RayMissing

    address = os.environ.get("RAY_ADDRESS") or None if args.ray == "local" else args.ray
    try:
        executor = RayExecutor(address, workers=args.ray_workers)
    except RayMissing as err:
        raise ConfigError(str(err)) from None
    with executor:
        yield executor


def existing_files(paths) -> list[Path]:
    """The paths a runner returned that exist (a figure is skipped when, e.g., the data have no labels)."""
    return [Path(p) for p in dict.fromkeys(paths) if p is not None and Path(p).is_file()]


def headline(kind: str, csv_path: Path) -> str:
    """One number for an experiment's result CSV (what the summary table shows), or '-'.

    bler: Eb/N0 at BLER 0.1 of the first curve; sscc: the best PSNR over
    schemes at the highest SNR; semantic: the first model's PSNR at the
    highest SNR (first sweep point).
    """
    from linksim.experiments.plots import ebno_at_bler, group_curves, read_rows

    try:
        rows = read_rows(csv_path)
        if not rows:
            return "-"
        if kind == "bler":
            first = (rows[0]["channel"], rows[0]["curve"])
            x = ebno_at_bler(group_curves(rows)[first])
            at = "not reached" if x is None else f"{x:.1f} dB"
            return f"Eb/N0 at BLER 0.1: {at} ({first[1]})"
        if kind == "sscc":
            rows = [r for r in rows if r["scheme"] != "capacity"]
            top = max(float(r["snr_db"]) for r in rows)
            best = max((r for r in rows if float(r["snr_db"]) == top),
                       key=lambda r: float(r["psnr_db"]))
            return (f"best PSNR at SNR {top:g} dB: {float(best['psnr_db']):.2f} dB "
                    f"({best['codec']}, {best['scheme']})")
        if kind == "semantic":
            model, sweep = rows[0]["model"], rows[0]["sweep"]
            rows = [r for r in rows if r["model"] == model and r["sweep"] == sweep]
            top = max(rows, key=lambda r: float(r["snr_db"]))
            return f"PSNR of {model} at SNR {float(top['snr_db']):g} dB: {float(top['psnr_db']):.2f} dB"
    except (OSError, KeyError, ValueError):
        pass
    return "-"


def _duration(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes} min {sec:02d} s" if minutes else f"{seconds:.1f} s"


def summary_table(summary: list[dict], out: Path) -> str:
    """The table ``run`` prints at the end: experiment, kind, files, headline, wall time."""
    head = ("experiment", "kind", "files", "headline", "wall time")
    body = [(s["experiment"], s["kind"], str(len(s["files"])), s["headline"], _duration(s["wall_s"]))
            for s in summary]
    widths = [max(len(row[i]) for row in (head, *body)) for i in range(len(head))]
    lines = [f"summary ({out}):"]
    for row in (head, *body):
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def _validate(args) -> int:
    from linksim.config import ConfigError, load_scenario

    status = 0
    for path in args.scenarios:
        try:
            sc = load_scenario(path)
            print(f"{path}: ok ({len(sc.experiments)} experiment(s))")
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 2
    return status


def _list(args) -> int:
    from linksim import registry

    tables = {"channel.model": registry.CHANNELS, "precoder.name": registry.PRECODERS,
              "receiver.estimator": registry.ESTIMATORS, "receiver.equalizer": registry.EQUALIZERS,
              "sounding.estimator": registry.SOUNDING_ESTIMATORS,
              "semantic.csi (p2p_mimo)": registry.P2P_ESTIMATORS,
              "codecs": registry.CODECS, "semantic.system": registry.SYSTEMS,
              "experiments[].kind": registry.EXPERIMENTS}
    for key, table in tables.items():
        print(f"{table.kind}s ({key}):")
        for name, doc in table.describe().items():
            print(f"  {name:<18} {doc}")
    for name in registry.SYSTEMS:
        variants = registry.SYSTEMS[name].variants
        print(f"variants of {name} (semantic.model, experiments[].models):")
        for variant, doc in variants.describe().items():
            print(f"  {variant:<18} {doc}")
    return 0


def _stats(args) -> int:
    import sionna

    from linksim.config import ConfigError, load_scenario
    from linksim.experiments.channel_stats import scenario_stats, write_stats
    from linksim.experiments.provenance import provenance
    from linksim.phy import CHANNELS

    scenario = load_scenario(args.scenario)
    for model in args.models:
        if model not in CHANNELS:
            raise ConfigError(f"--models: {model!r} is not a channel model; allowed: "
                              f"{', '.join(CHANNELS)}")
    if args.drops < 1:
        raise ConfigError(f"--drops: {args.drops} -- must be at least 1")
    sionna.phy.config.seed = scenario.seed
    ffts = args.fft_sizes or [scenario.ofdm.fft_size]
    rows = scenario_stats(scenario, args.models, ffts, drops=args.drops, snrs_db=tuple(args.snr_db))
    path = write_stats(rows, args.out, {"scenario": str(args.scenario), "drops": args.drops,
                                        "snr_db": args.snr_db,
                                        "seed": scenario.seed, "provenance": provenance()})
    for row in rows:
        print(", ".join(f"{k}={v}" for k, v in row.items()))
    print(f"written: {path}")
    return 0


def _report(args) -> int:
    from linksim.config import ConfigError
    from linksim.experiments.report import write_report

    if not args.result_dir.is_dir():
        raise ConfigError(f"{args.result_dir}: no such result directory")
    print(f"written: {write_report(args.result_dir)}")
    return 0


def _bench(args) -> int:
    from linksim.config import ConfigError
    from linksim.experiments.bench import PARTS, run_bench

    if args.batches < 1:
        raise ConfigError(f"--batches: {args.batches} -- must be at least 1")
    parts = tuple(p for p in PARTS if p in (args.only or PARTS))
    if "ray" in parts:
        from linksim.experiments.ray_executor import RayMissing, import_ray

        try:
            import_ray(local=True)   # bench starts its own local instances
        except RayMissing as err:
            if args.only:
                raise ConfigError(str(err)) from None
            parts = tuple(p for p in parts if p != "ray")
            print(f"bench: part ray skipped ({err})", file=sys.stderr)
    for path in run_bench(args.out, args.batches, parts):
        print(f"written: {path}")
    return 0


def _train(args) -> int:
    from linksim.config import ConfigError, load_scenario
    from linksim.experiments.train import quick_scenario, train
    from linksim.registry import SYSTEMS

    scenario = load_scenario(args.scenario)
    if args.model is not None:
        variants = SYSTEMS[scenario.semantic.system].variants
        if args.model not in variants:
            raise ConfigError(f"--model {args.model!r}: not a variant of system "
                              f"{scenario.semantic.system!r}; allowed: {', '.join(variants)}")
        scenario = scenario.model_copy(update={
            "semantic": scenario.semantic.model_copy(update={"model": args.model})})
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--time-budget", args.time_budget)):
        if value is not None and value <= 0:
            raise ConfigError(f"{flag}: {value} -- must be positive")
    out = args.out or Path("runs") / scenario.name / f"train_{scenario.semantic.model}"
    if args.quick:
        scenario, out = quick_scenario(scenario), out / "quick"
    state = train(scenario, out, epochs=args.epochs, batch_size=args.batch_size,
                  init_from=args.init_from, time_budget_min=args.time_budget, verbose=0 if args.no_progress else 1)
    where = state.get("nan_at")
    detail = f" at epoch {where['epoch']} step {where['step']}" if where else ""
    print(f"{state['status']}{detail}: {state['epochs_done']} epoch(s) kept, best val loss "
          f"{state['best_val_loss']}, {state['wall_s']} s; files in {out}")
    return 0


def _train_report(args) -> int:
    from linksim.experiments.training_report import training_report

    for path in training_report(args.run_dirs, args.out):
        print(f"written: {path}")
    return 0


_COMMANDS = {"run": _run, "validate": _validate, "list": _list, "stats": _stats,
             "report": _report, "bench": _bench, "train": _train, "train-report": _train_report}
