"""The dosing day's pages: the chair board (``board``), the session page (``session``), its
steps, one POST URL each (``steps``), and the REMS Patient Monitoring Forms (``rems``)."""
