# guestflow engine image: Debian 12 with libguestfs (from Debian), a kernel
# for the appliance, qemu-utils and the engine jar built from this checkout.
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      openjdk-17-jdk-headless maven libguestfs-java ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# the binding's version is the installed jar's, not a pinned one
SHELL ["/bin/bash", "-c"]
RUN read -r jar version < <(scripts/libguestfs-jar) \
    && (cd /tmp && mvn -q -B org.apache.maven.plugins:maven-install-plugin:3.1.3:install-file \
       -Dfile="$jar" -DgroupId=org.libguestfs -DartifactId=libguestfs -Dversion="$version" -Dpackaging=jar) \
    && mvn -q -B -DskipTests -Dlibguestfs.version="$version" -pl routes -am package

FROM debian:12
# curl: the healthcheck of docker-compose.yml asks /health/ready
RUN apt-get update && apt-get install -y --no-install-recommends \
      openjdk-17-jre-headless libguestfs-tools libguestfs-java libguestfs-xfs linux-image-amd64 qemu-utils curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/routes/target/guestflow.jar /opt/guestflow/guestflow.jar
# read without --config: the container's paths, JSON logs (docker compose and Kubernetes mount their own)
COPY deploy/guestflow.properties /etc/guestflow/guestflow.properties
ENV LIBGUESTFS_CACHEDIR=/var/cache/guestflow
VOLUME ["/images", "/output", "/var/lib/guestflow/reports", "/var/cache/guestflow"]
EXPOSE 9876
ENTRYPOINT ["java", "-Djava.library.path=/usr/lib/x86_64-linux-gnu/jni", "-jar", "/opt/guestflow/guestflow.jar"]
CMD ["run"]
