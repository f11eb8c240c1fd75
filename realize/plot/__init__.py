"""Figures for identification and realization: order choice, validation, spectra, poles.

matplotlib is imported inside each function, so ``import realize`` never loads it.
Every function returns a :class:`matplotlib.figure.Figure` with a title, axis labels
with units and a legend; pass ``ax=`` to draw into an existing axes instead (where a
figure has a single panel). Time axes are in seconds when a sampling period in
seconds is given (``time_unit="s"``), otherwise in samples.

================================== ==============================================
function                           shows
================================== ==============================================
:func:`singular_values`            subspace singular values and the chosen order
:func:`order_selection`            validation fit against the model order
:func:`simulation`                 measured against simulated outputs
:func:`error_spectra`              spectra of the simulation errors of several models
:func:`bode`                       frequency response, magnitude and phase
:func:`pole_zero`                  poles and transmission zeros with the unit circle
:func:`innovation_autocorrelation` whiteness test of the innovations
:func:`hankel_singular_values`     Hankel singular values, for model reduction
:func:`texture_frames`             frames of a (dynamic-texture) video
================================== ==============================================

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np, realize, realize.plot
>>> sys = realize.StateSpace([[0.9, 0.2], [-0.2, 0.9]], [[1.0], [0.0]], [[1.0, 0.0]])
>>> fig = realize.plot.pole_zero(sys)
>>> fig.axes[0].get_title()
'Poles and zeros'
"""

from realize.plot.identification import (
    error_spectra,
    innovation_autocorrelation,
    order_selection,
    simulation,
    singular_values,
)
from realize.plot.systems import bode, hankel_singular_values, pole_zero, transmission_zeros
from realize.plot.texture import texture_frames

__all__ = [
    "singular_values",
    "order_selection",
    "simulation",
    "error_spectra",
    "bode",
    "pole_zero",
    "innovation_autocorrelation",
    "hankel_singular_values",
    "texture_frames",
    "transmission_zeros",
]
