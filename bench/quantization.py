"""ONNX Runtime variants of one trained round: F1 on the full MIT test set and sentences per second through the
inference core (no HTTP), for the dynamic int8 quantization nerloop serves and the alternatives to it. Prints one
JSON document.

    .venv/bin/python bench/quantization.py --round DIR            # DIR: a round folder or its model/ folder

Variants (built in a temporary folder from the round's ``model.onnx``, which is exported first if missing):
- ``fp32``: the exported graph, optimized by onnxruntime at load (``ORT_ENABLE_ALL``);
- ``dynamic-int8``: what ``NERLOOP_ONNX_QUANTIZE=true`` serves (per-channel weights, reduced range);
- ``dynamic-int8-full-range``: the same with 8-bit weights (``reduce_range=False``), which a CPU with VNNI can
  multiply without the 16-bit saturation the 7-bit range guards against;
- ``weight-only-int8``: ``MatMulNBits`` with 8-bit weights in blocks of 128 and int8 compute
  (``accuracy_level=4``), which quantizes activations per row and block, so a window's tags do not depend on the
  other windows in its pass;
- ``fused-dynamic-int8``: onnxruntime's transformer optimizer first (attention, skip-LayerNorm and bias-GELU fused
  into single operators), then the same dynamic quantization (attention becomes ``QAttention``);
- ``static-int8-minmax`` and ``static-int8-percentile``: static QDQ quantization, activations calibrated on the
  first ``--calibration`` MIT train sentences (the round's own kind of data) with min-max or 99.99th-percentile
  ranges.

Each variant runs with ``--threads`` one-thread passes side by side (the backend's default layout), 16 windows a
pass, 100 sentences a call; speed is the median of ``--repeat`` passes over the first 1,000 test sentences, the
variants taking turns so a slow minute of the machine does not favour one of them. F1 is that of the whole test set
tagged in one call, at 16 windows a pass and at each of ``--f1-pass-sizes`` (dynamic quantization scales
activations per pass, so its tags move with what shares a pass; ``f1_spread`` is the range).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.output import machine, print_report, quiet_logs  # noqa: E402
from bench.passes import interleaved_rates  # noqa: E402
from bench.predict import model_folder  # noqa: E402
from converters.corpus import read_tsv  # noqa: E402
from labeling_config import restaurant_config  # noqa: E402
from nerloop.demo import MIT_DIR  # noqa: E402

VARIANTS = ("fp32", "dynamic-int8", "dynamic-int8-full-range", "weight-only-int8", "fused-dynamic-int8",
            "static-int8-minmax", "static-int8-percentile")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round", type=Path, required=True, help="a trained round (or its model/ folder)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--calibration", type=int, default=512, help="MIT train sentences for static calibration")
    parser.add_argument("--threads", type=int, default=2, help="one-thread passes side by side")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--f1-pass-sizes", default="4,8,16,32,64",
                        help="windows a pass at which F1 is measured besides 16 (comma-separated)")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def build(variant: str, model_dir: Path, work: Path, calibration: list[list[str]]) -> Path:
    """The variant's ONNX file."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    from inference.onnx import onnx_path

    plain = onnx_path(model_dir, quantize=False)
    target = work / f"{variant}.onnx"
    if variant == "fp32":
        return plain
    if variant == "dynamic-int8":
        return onnx_path(model_dir, quantize=True)
    if variant == "dynamic-int8-full-range":
        quantize_dynamic(str(plain), str(target), weight_type=QuantType.QInt8, per_channel=True, reduce_range=False)
        return target
    if variant == "weight-only-int8":
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import (
            DefaultWeightOnlyQuantConfig,
            MatMulNBitsQuantizer,
        )

        settings = {"block_size": 128, "is_symmetric": True, "accuracy_level": 4, "bits": 8}
        quantizer = MatMulNBitsQuantizer(onnx.load(str(plain)), **settings,
                                         algo_config=DefaultWeightOnlyQuantConfig(**settings))
        quantizer.process()
        quantizer.model.save_model_to_file(str(target), use_external_data_format=False)
        return target
    if variant == "fused-dynamic-int8":
        from onnxruntime.transformers.optimizer import optimize_model
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(model_dir)
        fused = optimize_model(str(plain), model_type="bert", num_heads=config.num_attention_heads,
                               hidden_size=config.hidden_size, opt_level=1)
        fused.save_model_to_file(str(work / "fused.onnx"))
        quantize_dynamic(str(work / "fused.onnx"), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=True, extra_options={"DefaultTensorType": 1})  # 1: FLOAT, for fused ops
        return target
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            batches = []
            for begin in range(0, len(calibration), 32):
                encoded = tokenizer(calibration[begin:begin + 32], is_split_into_words=True, padding="max_length",
                                    max_length=48, truncation=True, return_tensors="np")
                batches.append({"input_ids": encoded["input_ids"].astype("int64"),
                                "attention_mask": encoded["attention_mask"].astype("int64")})
            self.batches = iter(batches)

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    prepared = work / "prepared.onnx"
    if not prepared.is_file():
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
    percentile = variant.endswith("percentile")
    quantize_static(str(prepared), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    reduce_range=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.Percentile if percentile else CalibrationMethod.MinMax,
                    op_types_to_quantize=["MatMul", "Gemm"],
                    extra_options={"CalibPercentile": 99.99} if percentile else {})
    return target


def run(args: argparse.Namespace) -> dict:
    from transformers import AutoConfig, AutoTokenizer

    from inference.classifier import TokenClassifier
    from inference.onnx import OnnxRunner
    from inference.windows import read_window_size
    from training.metrics import score_predictions

    model_dir = model_folder(args.round)
    config = restaurant_config()
    test = read_tsv(MIT_DIR / "test.bio", tags=config.tags)
    calibration = [list(s.tokens) for s in read_tsv(MIT_DIR / "train.bio", tags=config.tags)[:args.calibration]]
    words = [list(s.tokens) for s in test]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    id2label = {int(k): v for k, v in AutoConfig.from_pretrained(model_dir).id2label.items()}
    window = read_window_size(model_dir)
    report: dict = {"machine": machine(), "round": str(model_dir), "threads": args.threads,
                    "calibration_sentences": len(calibration), "variants": {}}
    classifiers = {}
    with tempfile.TemporaryDirectory(prefix="nerloop-quant-") as work_name:
        for variant in args.variants.split(","):
            path = build(variant, model_dir, Path(work_name), calibration)
            runner = OnnxRunner(path, 1)
            by_size = {}
            for size in sorted({16, *(int(s) for s in args.f1_pass_sizes.split(",") if s)}):
                classifier = TokenClassifier(tokenizer, runner, id2label, max_length=window.max_length,
                                             stride=window.stride, batch_size=size, parallel=args.threads)
                tags = [list(t) for t in classifier.tag(words)]
                by_size[size] = round(score_predictions(test, tags, sorted(config.labels)).micro.f1, 4)
                if size == 16:
                    classifiers[variant] = classifier
            report["variants"][variant] = {"f1_micro": by_size[16], "f1_by_pass_size": by_size,
                                           "f1_spread": round(max(by_size.values()) - min(by_size.values()), 4),
                                           "megabytes": round(path.stat().st_size / 2**20, 1)}
        speeds = interleaved_rates(classifiers, words[:1000], 100, args.repeat)
    for name, rates in speeds.items():
        report["variants"][name]["sentences_per_s_median"] = round(statistics.median(rates), 1)
    return report


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    quiet_logs()
    report = run(args)
    print_report(report, args.out)
    sys.stderr.write(json.dumps(report["variants"], indent=1) + "\n")


if __name__ == "__main__":
    main()
