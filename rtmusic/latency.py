"""The latency report: what the listener waits for, part by part, in samples and milliseconds.

Convention (block-I/O): the algorithmic latency is window + look-ahead; it already includes collecting
one hop. The engine's pre-fill beyond that hop (host block + safety margin) is reported as "pre-fill", and
PortAudio's reported device latencies are added on top. algorithmic + pre-fill is exactly the lag from
the callback's input to its output, which the JACK tests measure to the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtmusic.errors import LatencyBudgetError, ParameterError


@dataclass(frozen=True)
class LatencyReport:
    samplerate: int
    hop: int
    algorithmic: int  # window + look-ahead (samples)
    prefill: int  # output pre-fill beyond the hop being collected (samples)
    device_in: int  # PortAudio's reported input latency (samples)
    device_out: int  # PortAudio's reported output latency (samples)

    @property
    def engine(self) -> int:
        """Callback input to callback output, in samples: the lag a JACK client in the loop measures."""
        return self.algorithmic + self.prefill

    @property
    def total(self) -> int:
        return self.engine + self.device_in + self.device_out

    def ms(self, samples: int) -> float:
        return 1000.0 * samples / self.samplerate

    def parts(self) -> dict[str, int]:
        return {"algorithmic": self.algorithmic, "pre-fill": self.prefill,
                "device input": self.device_in, "device output": self.device_out}

    def as_dict(self) -> dict[str, float | int]:
        return {
            "algorithmic_ms": round(self.ms(self.algorithmic), 3),
            "prefill_ms": round(self.ms(self.prefill), 3),
            "device_in_ms": round(self.ms(self.device_in), 3),
            "device_out_ms": round(self.ms(self.device_out), 3),
            "total_ms": round(self.ms(self.total), 3),
            "total_samples": self.total,
            "engine_samples": self.engine,
        }

    def format(self) -> str:
        rows = [f"  {name:<15}{self.ms(n):7.2f} ms {n:6d} samples" for name, n in self.parts().items()]
        rows.append(f"  {'total':<15}{self.ms(self.total):7.2f} ms {self.total:6d} samples")
        return "latency (block-I/O convention):\n" + "\n".join(rows)

    def check_budget(self, budget_ms: float) -> None:
        """Raise LatencyBudgetError naming the part to change when the total exceeds the budget."""
        check_budget_value(budget_ms)
        if self.ms(self.total) <= budget_ms:
            return
        name, worst = max(self.parts().items(), key=lambda kv: kv[1])
        advice = {
            "algorithmic": "pick a model with a shorter window (--model)",
            "pre-fill": "use a smaller --blocksize (or 0 to let the audio server choose)",
            "device input": "lower the device/server latency (smaller JACK/PipeWire period, or another --input device)",
            "device output": "lower the device/server latency (smaller JACK/PipeWire period, or another --output device)",
        }[name]
        raise LatencyBudgetError(
            f"total latency {self.ms(self.total):.1f} ms exceeds the {budget_ms:g} ms budget; the largest part is "
            f"{name} ({self.ms(worst):.1f} ms): {advice}, or raise --latency-budget"
        )


def check_budget_value(budget_ms: float) -> None:
    if not budget_ms > 0:
        raise ParameterError(f"--latency-budget must be a positive number of milliseconds, got {budget_ms:g}")
