"""Pharmacokinetic dose planner: linear compartment models as data, solved in closed form."""

from ketacare.clinical.pk.models import MODEL_IDS, Model, get_model
from ketacare.clinical.pk.solve import Dose, Profile, concentration, plan_doses, profile

__all__ = [
    "MODEL_IDS",
    "Dose",
    "Model",
    "Profile",
    "concentration",
    "get_model",
    "plan_doses",
    "profile",
]
