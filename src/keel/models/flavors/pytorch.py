"""PyTorch modules as TorchScript: traced with the input example, or scripted without one.

TorchScript archives hold TorchScript code and tensors, which ``torch.jit.load`` rebuilds
without running Python from the file. A pickled module (``serialization="pickle"``,
``torch.save(model)``) is written only when asked for and loaded only with trust.

PyTorch 2.13 marks ``torch.jit`` deprecated in favour of ``torch.export``; the warnings are
silenced around the calls below, which remain PyTorch's loadable-without-pickle format.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from keel.errors import InvalidArgument
from keel.extras import require
from keel.models import inputs
from keel.models.flavors._common import choice, model_path, serialization_choice, version
from keel.models.trust import PICKLE_RISK, refusal

NAME = "pytorch"
EXTRA = "pytorch"
REQUIREMENTS = ("torch", "numpy")
SERIALIZATIONS = ("torchscript", "pickle")
FILES = {"torchscript": "model.pt", "pickle": "model.pth"}
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit")
        yield


def _torch(doing: str) -> Any:
    return require("torch", extra=EXTRA, purpose=f"{doing} a PyTorch model")


def detect(model: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def save(
    model: Any, folder: Path, *, input_example: Any, serialization: str | None
) -> dict[str, Any]:
    torch = _torch("Saving")
    serialization = serialization_choice(serialization, SERIALIZATIONS, NAME)
    parameter = next(iter(model.parameters()), None)
    float_dtype = str(parameter.dtype).removeprefix("torch.") if parameter is not None else None
    if float_dtype not in FLOAT_DTYPES:
        float_dtype = "float32"
    path = folder / FILES[serialization]
    method = "pickle"
    if serialization == "pickle":
        torch.save(model, path)
    else:
        compiled, method = _compile(model, input_example, float_dtype)
        with _quiet_jit():
            torch.jit.save(compiled, str(path))
    return {
        "file": path.name,
        "serialization": serialization,
        "method": method,
        "float_dtype": float_dtype,
        "torch_version": version("torch"),
    }


def _compile(model: Any, input_example: Any, float_dtype: str) -> tuple[Any, str]:
    import torch

    if isinstance(model, torch.jit.ScriptModule):
        return model, "script"
    was_training = model.training
    model.eval()
    try:
        with _quiet_jit():
            if input_example is not None:
                example = _tensor(inputs.to_array(input_example), float_dtype)
                return torch.jit.trace(model, example), "trace"
            return torch.jit.script(model), "script"
    except Exception as exc:  # tracing and scripting fail in many library-specific ways
        raise InvalidArgument(
            f"model: could not compile the module to TorchScript ({type(exc).__name__}: "
            f"{exc}); pass input_example= to trace it, or serialization='pickle' (which "
            "loads only with trust)"
        ) from exc
    finally:
        model.train(was_training)


def requires_trust(info: Mapping[str, Any]) -> str | None:
    if choice(info, "serialization", SERIALIZATIONS, NAME) == "pickle":
        return f"a pickled PyTorch module ({info.get('file')!s})"
    return None


def load(folder: Path, info: Mapping[str, Any], *, trust: bool) -> TorchModel:
    torch = _torch("Loading")
    path = model_path(folder, info, NAME)
    serialization = choice(info, "serialization", SERIALIZATIONS, NAME)
    float_dtype = choice(info, "float_dtype", FLOAT_DTYPES, NAME)
    if serialization == "pickle":
        if not trust:
            raise refusal(f"a pickled PyTorch module ({path.name})", PICKLE_RISK)
        module = torch.load(path, map_location="cpu", weights_only=False)
    else:
        with _quiet_jit():
            module = torch.jit.load(str(path), map_location="cpu")
    module.eval()
    return TorchModel(module, float_dtype)


def _tensor(array: Any, float_dtype: str) -> Any:
    import numpy as np
    import torch

    array = np.ascontiguousarray(array)
    if not array.flags.writeable:  # pandas' copy-on-write arrays; torch wants to own one
        array = array.copy()
    tensor = torch.from_numpy(array)
    if tensor.is_floating_point():
        tensor = tensor.to(getattr(torch, float_dtype))
    return tensor


class TorchModel:
    """Runs the module on a tensor made from the input; returns numpy (a tuple of arrays
    for a module that returns several tensors)."""

    def __init__(self, module: Any, float_dtype: str) -> None:
        self.module = module
        self.float_dtype = float_dtype

    def predict(self, data: Any) -> Any:
        import torch

        with torch.inference_mode():
            result = self.module(_tensor(inputs.to_array(data), self.float_dtype))
        if isinstance(result, tuple | list):
            return tuple(item.detach().cpu().numpy() for item in result)
        return result.detach().cpu().numpy()


def native(model: TorchModel, folder: Path, info: Mapping[str, Any]) -> Any:
    """The module in eval mode: a TorchScript module, or the ``torch.nn.Module`` that was
    pickled (``keel.pytorch.load_model``)."""
    return model.module
