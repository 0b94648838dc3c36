"""What runs where: the sandbox's layers on this machine, and who may run programs here."""

from __future__ import annotations

import streamlit as st

from gradviz.model.errors import SandboxError
from gradviz.sandbox.probe import complete, describe
from gradviz.sandbox.run import sandbox_report


def remote_refusal() -> str | None:
    """Why this page may not run programs, or None. Without every kernel layer, programs
    run only for a browser on the server's own machine (``st.context.ip_address`` is None
    for localhost)."""
    if st.context.ip_address is None:
        return None
    try:
        report = sandbox_report()
    except SandboxError as e:
        return str(e)
    if complete(report.layers):
        return None
    return (
        "this server's sandbox is incomplete (see About in the sidebar), so it runs programs "
        "only for a browser on its own machine"
    )


def about_panel() -> None:
    """The sidebar's About: what gradviz is and which sandbox layers hold here."""
    with st.expander("About gradviz and its sandbox"):
        st.markdown(
            "Your program runs as real Python in a separate process, forked for this run and "
            "confined by the Linux kernel; only plain data about the graph comes back."
        )
        try:
            report = sandbox_report()
        except SandboxError as e:
            st.warning(f"The sandbox is not running: {e}")
            return
        for line in describe(report.layers, report.readable):
            st.caption(line)
        if complete(report.layers):
            st.caption("Every layer holds: this server may serve a class.")
        else:
            st.warning("Some layers are missing: programs run only for a browser on this machine.")
