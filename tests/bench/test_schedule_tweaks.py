"""The training tweaks bench/schedule_tweaks.py measures: the weight average and the layer-decayed learning rates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from bench.schedule_tweaks import layer_decayed_groups, weight_average


def tiny_token_classifier() -> torch.nn.Module:
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(0)
    return BertForTokenClassification(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=3,
                                                 num_attention_heads=2, intermediate_size=16, num_labels=3))


def test_the_weight_average_is_swapped_in_for_validation_and_out_after_the_checkpoint() -> None:
    layer = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 4.0]]))
    callback = weight_average(0.5)
    callback.on_train_begin(None, None, None, model=layer)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[2.0, 8.0]]))
    callback.on_step_end(None, SimpleNamespace(global_step=100), None)  # decay min(0.5, 101/110) = 0.5
    callback.on_epoch_end(None, None, None)
    assert layer.weight.tolist() == [[1.0, 6.0]]
    callback.on_save(None, None, None)
    assert layer.weight.tolist() == [[2.0, 8.0]]


def test_the_first_steps_average_with_a_warmed_up_decay() -> None:
    layer = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        layer.weight.fill_(0.0)
    callback = weight_average(0.995)
    callback.on_train_begin(None, None, None, model=layer)
    with torch.no_grad():
        layer.weight.fill_(11.0)
    callback.on_step_end(None, SimpleNamespace(global_step=1), None)  # decay (1 + 1) / (10 + 1) = 2/11
    callback.on_epoch_end(None, None, None)
    assert layer.weight.item() == pytest.approx(9.0)


def test_each_layer_down_learns_at_a_decayed_rate_and_norms_and_biases_skip_weight_decay() -> None:
    model = tiny_token_classifier()
    groups = layer_decayed_groups(model, 1e-3, 0.01, 0.5)
    names = {id(param): name for name, param in model.named_parameters()}
    where = {names[id(param)]: (group["lr"], group["weight_decay"]) for group in groups for param in group["params"]}
    assert sorted(where) == sorted(names.values())  # every weight in exactly one group
    assert where["classifier.weight"] == (1e-3, 0.01)
    assert where["classifier.bias"] == (1e-3, 0.0)
    assert where["bert.encoder.layer.2.output.dense.weight"] == (1e-3 * 0.5, 0.01)
    assert where["bert.encoder.layer.0.attention.self.query.weight"] == (1e-3 * 0.5 ** 3, 0.01)
    assert where["bert.encoder.layer.0.output.LayerNorm.weight"] == (1e-3 * 0.5 ** 3, 0.0)
    assert where["bert.embeddings.word_embeddings.weight"] == (1e-3 * 0.5 ** 4, 0.01)
