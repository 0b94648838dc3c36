# gradviz for a class: the app on port 8501, every program in its own sandboxed process.
#
#   docker build -t gradviz .
#   docker run --rm -p 8501:8501 gradviz
#
# The sandbox needs nothing from Docker beyond its defaults: no --privileged, no extra
# capabilities. Each child confines itself with Landlock and a seccomp filter of its own,
# which Docker's default seccomp profile allows (seccomp(), and landlock_* since
# moby/moby#43199, 2022), so the container runs as an ordinary user.
# `docker run --rm gradviz gradviz doctor` says which layers hold on your host's kernel.
FROM python:3.11-slim

# libseccomp2 for pyseccomp; nothing else is needed at run time (graphviz-pure lays out SVGs).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/gradviz
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY gradviz ./gradviz
COPY app.py ./
# torch's CPU build (PyPI's Linux wheel is the CUDA one, several GB).
RUN pip install --no-cache-dir -c constraints.txt \
        --extra-index-url https://download.pytorch.org/whl/cpu \
        ".[svg]"

RUN useradd --create-home --shell /usr/sbin/nologin gradviz
USER gradviz
WORKDIR /home/gradviz
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=5)"
CMD ["gradviz", "app", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
