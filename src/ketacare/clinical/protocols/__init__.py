"""Treatment protocols as versioned data, and the dose calculator with its hard limits."""

from ketacare.clinical.protocols.dose import DoseOrder, DoseRefused, calculate_dose, check_dose
from ketacare.clinical.protocols.library import PROTOCOL_IDS, Protocol, get_protocol

__all__ = [
    "PROTOCOL_IDS",
    "DoseOrder",
    "DoseRefused",
    "Protocol",
    "calculate_dose",
    "check_dose",
    "get_protocol",
]
