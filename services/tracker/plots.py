"""Evaluation plots logged as run artifacts (ROC, PR, calibration, feature importance)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers or in CI

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve


def roc_figure(labels: np.ndarray, probabilities: np.ndarray) -> Figure:
    fpr, tpr, _ = roc_curve(labels, probabilities)
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot(fpr, tpr, label="model")
    axes.plot([0, 1], [0, 1], linestyle="--", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test split)")
    axes.legend()
    return figure


def pr_figure(labels: np.ndarray, probabilities: np.ndarray) -> Figure:
    precision, recall, _ = precision_recall_curve(labels, probabilities)
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot(recall, precision)
    axes.axhline(labels.mean(), linestyle="--", label="base rate")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall (test split)")
    axes.legend()
    return figure


def calibration_figure(labels: np.ndarray, probabilities: np.ndarray) -> Figure:
    observed, predicted = calibration_curve(labels, probabilities, n_bins=10, strategy="quantile")
    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot(predicted, observed, marker="o", label="model")
    axes.plot([0, 1], [0, 1], linestyle="--", label="perfect")
    axes.set(xlabel="predicted churn probability", ylabel="observed churn rate", title="Calibration")
    axes.legend()
    return figure


def importance_figure(names: list[str], values: np.ndarray, title: str) -> Figure:
    order = np.argsort(np.abs(values))[-20:]
    figure, axes = plt.subplots(figsize=(7, 6))
    axes.barh([names[i] for i in order], values[order])
    axes.set(title=title)
    figure.tight_layout()
    return figure
